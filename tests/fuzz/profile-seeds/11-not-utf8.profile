[component x]
version = 1
url = https://eÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ.invalid/x.tgz
sha256 = 0000000000000000000000000000000000000000000000000000000000000000
program = x
program =
program = y 0700
