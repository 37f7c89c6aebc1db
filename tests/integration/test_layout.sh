#!/usr/bin/env bash
# test_layout.sh - the house stays in order: no include circle between modules in proto/,
# gateway/ and agents/; proto/ includes no header of gateway/ or agents/, agents/ none of
# gateway/ and gateway/ none of agents/ (the Makefile's include floors, here also for a path
# such as "../gateway/x.h" that -I does not govern); no .c file in gateway/ or agents/ is over
# 1,000 lines; every file docs/HACKING.md names is in the tree.
#
# A module is a .c/.h pair (gw_store.c + gw_store.h). A file without a partner belongs to the
# module whose name its own name extends at an underscore (gw_store_open.c and the
# folder-private gw_store_impl.h belong to gw_store); failing that it is a module of its own
# (main.c, mn_bytes.h). Module A uses module B when a file of A includes a header of B, the
# quoted name resolved as the compiler does: the including file's folder first, then proto/.
# A circle is a chain of uses that comes back to where it started (a.c includes b.h and b.c
# includes a.h, or longer); each one is reported with the include lines that make it.
#
# Reads the sources only: needs no build. MN_SRCDIR names the tree to check.
. "$(dirname "$0")/lib.sh"

S_MAX_LINES=1000

cd "$MN_SRCDIR" || mn_bail "set-up: cannot enter $MN_SRCDIR"
files=$(find proto gateway agents -maxdepth 1 -type f -name '*.[ch]' 2>/dev/null | LC_ALL=C sort)
[ -n "$files" ] || mn_bail "set-up: no sources under $MN_SRCDIR/{proto,gateway,agents}"

# One record per result, fields split by tabs: OK DESC, or NOTOK DESC DETAIL...
layout_records() {
    awk -v files="${files//$'\n'/ }" '
    function dir_of(p) { sub(/\/[^\/]*$/, "", p); return p }
    function base_of(p) { sub(/^.*\//, "", p); return p }
    function is_pair(d, s) { return ((d "/" s ".c") in exists) && ((d "/" s ".h") in exists) }
    function module_of(p,    d, s, stem) {
        d = dir_of(p)
        s = base_of(p)
        sub(/\.[ch]$/, "", s)
        if (is_pair(d, s))
            return d "/" s
        stem = s
        while (s ~ /_/) {
            sub(/_[^_]*$/, "", s)
            if (is_pair(d, s))
                return d "/" s
        }
        return d "/" stem
    }
    # "gateway/../proto/./x.h" -> "proto/x.h"
    function normalize(p,    n, i, parts, out, k, res) {
        n = split(p, parts, "/")
        k = 0
        for (i = 1; i <= n; i++) {
            if (parts[i] == "" || parts[i] == ".")
                continue
            if (parts[i] == ".." && k > 0 && out[k] != "..")
                k--
            else
                out[++k] = parts[i]
        }
        res = ""
        for (i = 1; i <= k; i++)
            res = res (i > 1 ? "/" : "") out[i]
        return res
    }
    # The tree file a quoted include names, or "" (a system header, the generated code). The
    # folders a floor does not see are tried last, so that reaching up is found and named.
    function resolve(from, name,    d, c, i) {
        d = dir_of(from)
        c = normalize(d "/" name)
        if (c in exists)
            return c
        for (i = 1; i <= 3; i++) {
            c = normalize(floor_dirs[i] "/" name)
            if (c in exists)
                return c
        }
        return ""
    }
    function allowed(from_dir, to_dir) {
        return to_dir == from_dir || to_dir == "proto"
    }
    BEGIN {
        n_files = split(files, F, " ")
        for (i = 1; i <= n_files; i++)
            exists[F[i]] = 1
        floor_dirs[1] = "proto"; floor_dirs[2] = "gateway"; floor_dirs[3] = "agents"
        n_nodes = 0
        for (i = 1; i <= n_files; i++) {
            m = module_of(F[i])
            module[F[i]] = m
            if (!(m in node_index)) {
                node_index[m] = ++n_nodes
                node[n_nodes] = m
            }
        }
        for (i = 1; i <= n_files; i++) {
            path = F[i]
            line_no = 0
            while ((getline line < path) > 0) {
                line_no++
                if (line !~ /^[ \t]*#[ \t]*include[ \t]*"/)
                    continue
                name = line
                sub(/^[^"]*"/, "", name)
                sub(/".*$/, "", name)
                target = resolve(path, name)
                if (target == "")
                    continue
                from_dir = dir_of(path)
                if (!allowed(from_dir, dir_of(target))) {
                    up[from_dir] = up[from_dir] "\t" path ":" line_no ": #include \"" name \
                                   "\" reaches " target
                    continue
                }
                a = module[path]
                b = module[target]
                if (a == b)
                    continue
                if (!((a, b) in edge)) {
                    edge[a, b] = path ":" line_no ": #include \"" name "\""
                    n_succ[a]++
                    succ[a, n_succ[a]] = b
                }
            }
            close(path)
        }

        split("proto gateway agents", floor_order, " ")
        ok_text["proto"] = "proto/ includes no header of gateway/ or agents/"
        ok_text["gateway"] = "gateway/ includes no header of agents/"
        ok_text["agents"] = "agents/ includes no header of gateway/"
        bad_text["proto"] = "proto/ includes headers of gateway/ or agents/"
        bad_text["gateway"] = "gateway/ includes headers of agents/"
        bad_text["agents"] = "agents/ includes headers of gateway/"
        for (i = 1; i <= 3; i++) {
            d = floor_order[i]
            if (d in up)
                print "NOTOK\t" bad_text[d] up[d] "\thint: what both sides need belongs in " \
                      "proto/; the Makefile builds each folder with its floor only"
            else
                print "OK\t" ok_text[d]
        }

        # Who reaches whom (a search from every module; a few hundred modules at most).
        for (s = 1; s <= n_nodes; s++) {
            src = node[s]
            head = 1; tail = 0
            queue[++tail] = src
            while (head <= tail) {
                u = queue[head++]
                for (k = 1; k <= n_succ[u]; k++) {
                    v = succ[u, k]
                    if (!((src, v) in reach)) {
                        reach[src, v] = 1
                        queue[++tail] = v
                    }
                }
            }
        }
        circles = 0
        for (s = 1; s <= n_nodes; s++) {
            r = node[s]
            if (r in knot_of || !((r, r) in reach))
                continue
            # r is on a circle: its knot is every module it reaches that reaches it back.
            knot = ""
            knot_size = 0
            for (t = 1; t <= n_nodes; t++) {
                v = node[t]
                if (v == r || ((r, v) in reach && (v, r) in reach)) {
                    knot_of[v] = r
                    knot = knot " " v
                    knot_size++
                }
            }
            # The shortest circle through r, for the message.
            split("", parent)
            head = 1; tail = 0
            queue[++tail] = r
            last = ""
            while (head <= tail && last == "") {
                u = queue[head++]
                for (k = 1; k <= n_succ[u]; k++) {
                    v = succ[u, k]
                    if (v == r) {
                        last = u
                        break
                    }
                    if (!(v in parent) && v != r) {
                        parent[v] = u
                        queue[++tail] = v
                    }
                }
            }
            n_path = 0
            for (v = last; v != r; v = parent[v])
                path_node[++n_path] = v
            path_node[++n_path] = r
            chain = r
            details = ""
            prev = r
            for (k = n_path - 1; k >= 1; k--) {
                chain = chain " -> " path_node[k]
                details = details "\t" edge[prev, path_node[k]]
                prev = path_node[k]
            }
            chain = chain " -> " r
            details = details "\t" edge[prev, r]
            if (knot_size > n_path)
                details = details "\tthe circle is part of a knot of " knot_size \
                          " modules that all reach each other:" knot
            print "NOTOK\tinclude circle: " chain details \
                  "\thint: move what both need into one of them or a lower module, so that " \
                  "uses point one way"
            circles++
        }
        if (circles == 0)
            print "OK\tno include circle between the " n_nodes " modules of proto/, gateway/, agents/"
    }'
}

records=$(layout_records) || mn_bail "the include scan failed"
while IFS=$'\t' read -r -a rec; do
    case ${rec[0]} in
        OK) ok "${rec[1]}" ;;
        NOTOK) not_ok "${rec[@]:1}" ;;
    esac
done <<<"$records"

big=0
for f in gateway/*.c agents/*.c; do
    [ -f "$f" ] || continue
    n=$(wc -l <"$f")
    if [ "$n" -gt "$S_MAX_LINES" ]; then
        not_ok "$f has $n lines, more than $S_MAX_LINES" \
            "hint: split it by job into files of at most $S_MAX_LINES lines"
        big=$((big + 1))
    fi
done
[ "$big" -eq 0 ] && ok "every .c file in gateway/ and agents/ has at most $S_MAX_LINES lines"

# The map names real files: every path docs/HACKING.md gives (a pattern such as ctl_<group>.c
# or test_agent_*.c excepted) is in the tree.
missing=0
while read -r path; do
    [ -e "$path" ] && continue
    not_ok "docs/HACKING.md names $path, which is not in the tree" \
        "hint: change the map where the file moved or was renamed"
    missing=$((missing + 1))
done < <(grep -oE '(proto|gateway|agents|tests|docs|scripts)/[A-Za-z0-9_./*<>-]*[A-Za-z0-9_*>]' \
    docs/HACKING.md | grep -v '[*<]' | LC_ALL=C sort -u)
[ "$missing" -eq 0 ] && ok "every file docs/HACKING.md names is in the tree"
mn_finish
