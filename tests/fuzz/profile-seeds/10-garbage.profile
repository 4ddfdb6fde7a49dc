[component ../evil]
[build
key
=
