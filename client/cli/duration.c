/* duration.c — time spans as systemd writes them (see duration.h).
 *
 * Owns: the unit table (systemd.time(7)'s names and values, months and
 * years as systemd counts them), parsing with overflow checks, and the
 * short form printed back.
 * Never: strtod() or strtoll() (locale, signs, spaces and "0x" would slip
 * in); never round a span silently. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "macro.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)
#define USEC_PER_WEEK (7 * USEC_PER_DAY)
/* systemd's: a month is 30.44 days, a year 365.25 days. */
#define USEC_PER_MONTH (2629800 * USEC_PER_SEC)
#define USEC_PER_YEAR (31557600 * USEC_PER_SEC)

/* Longer names first where one starts another ("minutes" before "min"
 * before "m", "msec" and "ms" before "m"): the first prefix that matches
 * is the unit, as in systemd's own table. Case matters: M is a month, m a
 * minute. */
static const struct {
        const char *name;
        uint64_t usec;
} units[] = {
        { "seconds", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "s", USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "months", USEC_PER_MONTH },
        { "month", USEC_PER_MONTH },
        { "M", USEC_PER_MONTH },
        { "msec", 1000 },
        { "ms", 1000 },
        { "m", USEC_PER_MINUTE },
        { "hours", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "days", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "d", USEC_PER_DAY },
        { "weeks", USEC_PER_WEEK },
        { "week", USEC_PER_WEEK },
        { "w", USEC_PER_WEEK },
        { "years", USEC_PER_YEAR },
        { "year", USEC_PER_YEAR },
        { "y", USEC_PER_YEAR },
        { "usec", 1 },
        { "us", 1 },
        { "\xce\xbcs", 1 }, /* μs, GREEK SMALL LETTER MU */
        { "\xc2\xb5s", 1 }, /* µs, MICRO SIGN */
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n';
}

/* The unit at *p (seconds if none), and *p moved past it. */
static uint64_t unit_take(const char **p) {
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                size_t n = strlen(units[i].name);
                if (strncmp(*p, units[i].name, n) == 0) {
                        *p += n;
                        return units[i].usec;
                }
        }
        return USEC_PER_SEC;
}

static int add_checked(uint64_t *sum, uint64_t v) {
        if (v > UINT64_MAX - *sum)
                return -ERANGE;
        *sum += v;
        return 0;
}

/* One "NUMBER[.FRACTION][ ][UNIT]" at *p into *sum; *p moved past it. */
static int component_parse(const char **p, uint64_t *sum) {
        const char *s = *p, *fraction = NULL;
        size_t n_fraction = 0;
        uint64_t whole = 0;
        bool digits = false;
        int r;

        for (; is_digit(*s); s++, digits = true) {
                uint64_t digit = (uint64_t) (*s - '0');
                if (whole > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                whole = whole * 10 + digit;
        }
        if (*s == '.') {
                fraction = ++s;
                while (is_digit(*s))
                        s++;
                n_fraction = (size_t) (s - fraction);
                /* "5." and "3.s" are refused, as systemd does. */
                if (n_fraction == 0)
                        return -EINVAL;
                digits = true;
        }
        /* At least one digit: "", "s" and "h5" are not spans. */
        if (!digits)
                return -EINVAL;
        const char *after_number = s;
        while (is_space(*s))
                s++;
        const char *unit_start = s;
        uint64_t unit = unit_take(&s);
        /* No unit and no space either: "5x", "1.5.3s" (systemd's rule:
         * "12.34 .56" and "12.34s.56" are two spans, "12.34.56" none). */
        if (s == unit_start && unit_start == after_number && *s != '\0')
                return -EINVAL;

        if (whole > UINT64_MAX / unit)
                return -ERANGE;
        r = add_checked(sum, whole * unit);
        if (r < 0)
                return r;
        /* The fraction, digit by digit, in the unit's microseconds; digits
         * beyond the microsecond are dropped, as systemd does. */
        uint64_t scale = unit;
        for (size_t i = 0; i < n_fraction && scale >= 10; i++) {
                scale /= 10;
                r = add_checked(sum, (uint64_t) (fraction[i] - '0') * scale);
                if (r < 0)
                        return r;
        }
        *p = s;
        return 0;
}

int duration_parse_usec(const char *s, uint64_t *ret) {
        uint64_t sum = 0;
        bool any = false;
        int r;

        for (;;) {
                while (is_space(*s))
                        s++;
                if (*s == '\0')
                        break;
                if (*s == '-' || *s == '+')
                        return *s == '-' ? -ERANGE : -EINVAL;
                r = component_parse(&s, &sum);
                if (r < 0)
                        return r;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = sum;
        return 0;
}

int cli_duration_parse(const char *s, int64_t max, int64_t *ret) {
        uint64_t usec;
        int r = duration_parse_usec(s, &usec);
        if (r < 0)
                return r;
        if (usec % USEC_PER_SEC != 0)
                return -EDOM;
        if (max < 0 || usec / USEC_PER_SEC > (uint64_t) max)
                return -ERANGE;
        *ret = (int64_t) (usec / USEC_PER_SEC);
        return 0;
}

/* The units printed back: the ones the CLI has always printed. */
static const struct {
        char unit;
        int64_t seconds;
} format_units[] = {
        { 'd', 86400 },
        { 'h', 3600 },
        { 'm', 60 },
        { 's', 1 },
};

const char *cli_duration_format(int64_t sec, char buf[static CLI_DURATION_SIZE]) {
        for (size_t i = 0; i < ELEMENTSOF(format_units); i++)
                if (sec > 0 && sec % format_units[i].seconds == 0) {
                        snprintf(buf, CLI_DURATION_SIZE, "%" PRId64 "%c", sec / format_units[i].seconds,
                                 format_units[i].unit);
                        return buf;
                }
        snprintf(buf, CLI_DURATION_SIZE, "%" PRId64 "s", sec);
        return buf;
}
