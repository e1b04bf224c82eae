// SPDX-License-Identifier: MIT
// page.h -- the page the HTTP endpoint serves at / (src/ops/page.html,
// made a C array at build time by cmake/ArborEmbed.cmake).
#ifndef ARB_OPS_PAGE_H
#define ARB_OPS_PAGE_H

#include <stddef.h>

extern const unsigned char arb__page_html[];   // NUL-terminated
extern const size_t        arb__page_html_len; // without the NUL

#endif
