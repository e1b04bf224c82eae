# SPDX-License-Identifier: MIT
# ArborEmbed.cmake -- a file's bytes as a C array, at build time:
#   cmake -DIN=page.html -DOUT=page_html.c -DNAME=arb__page_html -P ArborEmbed.cmake
# writes `const unsigned char NAME[]` (the bytes and a NUL) and
# `const size_t NAME_len` (the bytes without it).  The HTTP page lives in
# src/ops/page.html as the HTML, CSS and JS it is, not as C strings.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
set(body "")
set(at 0)
while(at LESS n) # 16 bytes a line
  string(SUBSTRING "${hex}" ${at} 32 line)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," line "${line}")
  string(APPEND body "${line}\n")
  math(EXPR at "${at} + 32")
endwhile()
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} by cmake/ArborEmbed.cmake: do not edit.\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ${NAME}[];\n"
  "extern const size_t ${NAME}_len;\n"
  "const unsigned char ${NAME}[] = {\n${body}0x00 };\n"
  "const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
