[profile]
include = ucspi-tcp
