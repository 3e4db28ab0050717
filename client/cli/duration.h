/* duration.h — time spans as systemd writes them (systemd.time(7)).
 *
 * Owns: the one DURATION syntax of every duration option of the credvault
 * command (--expiring, --grace, --min-valid, and the "ago" form of a time
 * T): "90s", "5min", "1h30m", "1d 2h", "1.5h", "2w", a bare number being
 * seconds; and the short form the CLI prints a span in.
 * Never: depend on the rest of the CLI (the unit test builds this file
 * alone), read the locale, or take a sign. */
#pragma once

#include <stdint.h>

/* Parse s into microseconds. Components "NUMBER[UNIT]" follow one another,
 * with or without spaces ("1h30m", "1h 30m"); NUMBER may have a fraction
 * ("1.5h"); UNIT is one of systemd's: us usec µs, ms msec, s sec second(s),
 * m min minute(s), h hr hour(s), d day(s), w week(s), M month(s) (30.44
 * days), y year(s) (365.25 days); no unit means seconds. -EINVAL for bad
 * syntax (empty, an unknown unit, "1..5s"), -ERANGE for a sign or more
 * than UINT64_MAX microseconds. *ret is untouched on failure. */
int duration_parse_usec(const char *s, uint64_t *ret);

/* The same as whole seconds, at most max: -ERANGE over max, -EDOM for a
 * span that is not a whole number of seconds ("1500ms"). */
int cli_duration_parse(const char *s, int64_t max, int64_t *ret);

/* The shortest exact form in one unit: 300 → "5m", 90 → "90s", 0 → "0s".
 * Returns buf. */
#define CLI_DURATION_SIZE 32
const char *cli_duration_format(int64_t sec, char buf[static CLI_DURATION_SIZE]);
