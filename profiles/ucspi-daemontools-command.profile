# ucspi-daemontools in daemontools' own layout: its programs in /command,
# services in /service (ucspi-tcp stays in /usr/local/bin).

[profile]
include = ucspi-daemontools
description = ucspi-daemontools with daemontools in /command and services in /service

[component daemontools]
bindir = /command
write =
write = home /

[services]
service_dir = /service
