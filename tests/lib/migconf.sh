# migconf.sh - reading `qinstall migrate --json`'s "config" (the old
# MTA's configuration converted) in tests, after tap.sh:
#
#   migconf_file NAME        # the text of config.files' NAME ("control/
#                            # smtproutes"), or "(none)" when it has none
#   migconf_outcome SETTING BEFORE
#                            # the outcome ("converted", "warned", "not
#                            # converted") of the first item whose setting
#                            # is SETTING and whose before holds BEFORE, or
#                            # "(none)"
#   migconf_diff PATH        # the text --diff would give PATH, or "(none)"
migconf_file() {
	printf '%s' "$TAP_STDOUT" | "${PYTHON3:-python3}" -c '
import json, sys
c = json.load(sys.stdin).get("config") or {}
t = [f["text"] for f in c.get("files", []) if f["name"] == sys.argv[1]]
sys.stdout.write(t[0] if t else "(none)")' "$1"
}
migconf_outcome() {
	printf '%s' "$TAP_STDOUT" | "${PYTHON3:-python3}" -c '
import json, sys
c = json.load(sys.stdin).get("config") or {}
o = [i["outcome"] for i in c.get("items", []) if i["setting"] == sys.argv[1] and sys.argv[2] in i["before"]]
sys.stdout.write(o[0] if o else "(none)")' "$1" "$2"
}
# migconf_diff PATH: the section "--- PATH" of diff.after, to the next
# "--- " line (the format of --diff's after: each file after such a line).
migconf_diff() {
	printf '%s' "$TAP_STDOUT" | "${PYTHON3:-python3}" -c '
import json, sys
after = (json.load(sys.stdin).get("diff") or {}).get("after") or ""
out, on = [], False
for line in after.split("\n"):
    if line.startswith("--- "):
        if on:
            break
        on = line[4:] == sys.argv[1]
        continue
    if on:
        out.append(line)
sys.stdout.write("\n".join(out).rstrip("\n") if on else "(none)")' "$1"
}
