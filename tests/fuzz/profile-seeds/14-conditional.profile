[option a]
default = yes
[option b]
default = a
[option c]

[component x]
version = 1
url = https://example.invalid/x-1.tar.gz
sha256 = 0000000000000000000000000000000000000000000000000000000000000000
program = x
patch = one.patch

[component x if a !c]
patch = two.patch strip=3 glue=two-glue.patch

[component y if c]
version = 1
url = https://example.invalid/y.tar.gz
sha256 = 0000000000000000000000000000000000000000000000000000000000000000
program = y

[build if b]
cc = gcc -O0

[component x if a b]
patch = three.patch fuzz=0
