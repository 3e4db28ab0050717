/* version.h — the program version, from the build (meson sets it). */
#pragma once

#ifndef CREDVAULT_VERSION
#define CREDVAULT_VERSION "0"
#endif
