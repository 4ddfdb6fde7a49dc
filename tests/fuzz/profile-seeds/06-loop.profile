[build]
prefix = ${cc}
cc = ${prefix}
