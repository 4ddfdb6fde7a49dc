[component a]
version = $
[component b]
version = ${version}{x}
