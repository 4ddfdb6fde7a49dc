[option auth]
description = SMTP AUTH
default = yes
[option tls]
conflicts = auth
[option submission]
default = auth|tls
requires = auth|tls
[option extra]
enabled = yes

[component base]
version = 1
url = https://example.invalid/base-1.tar.gz
sha256 = 0000000000000000000000000000000000000000000000000000000000000000
install = none

[component x]
version = 2
url = https://example.invalid/x-2.tar.gz
sha256 = 0000000000000000000000000000000000000000000000000000000000000000
program = x
merge = no
copy = base:base-1/base64.c
copy = base:base-1/base64.h include/base64.h
patch = base:base-1/auth.patch strip=0 fuzz=1
