#!/bin/sh
# layers.sh — the house rules of lib/, checked with a few greps (make layers).
#
#   core/                      includes nothing else in lib/
#   state/ bus/ media/         include core/ (and their own folder) only
#   ingest/ rtc/ edge/ chat/ api/ push/ ctl/
#                              include core/ state/ bus/ media/ and their own
#                              folder, never another tool folder
#   every include of a lib header names its folder ("core/log.h")
#   only lib/core/net.c calls bind(), listen(), accept() or makes a server
#   TLS context (DTLS in lib/rtc/dtls.c and SRT's own srt_* calls are apart)
#   no lib/ file over LSP_MAX_LINES (850) lines: a bigger one is several
#   concepts waiting to be split along its own section dividers
#   lsp-edge, lsp-api, lsp-ctl and lsp-chat link no libav* (when built)
#   no two lib/ .c files share a name (liblsp.a keys its members by name)
# Prints each breach as "layers: FILE: what" and exits 1 if there is any.
set -u
cd "$(dirname "$0")/../.."
max=${LSP_MAX_LINES:-850}
bad=0
breach() { echo "layers: $1" >&2; bad=1; }

allowed() { # folder → the folders it may include
	case $1 in
	core) echo "core" ;;
	state | bus | media) echo "core $1" ;;
	*) echo "core state bus media $1" ;;
	esac
}

for f in lib/*/*.c lib/*/*.h; do
	dir=${f#lib/}; dir=${dir%%/*}
	ok=" $(allowed "$dir") "
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		*/*) ;;
		*) breach "$f: #include \"$inc\" does not name its folder"; continue ;;
		esac
		to=${inc%%/*}
		case $ok in *" $to "*) ;; *) breach "$f: $dir/ may not include $inc" ;; esac
	done
	n=$(wc -l <"$f")
	[ "$n" -le "$max" ] || breach "$f: $n lines (over $max)"
done
for f in bin/*.c tests/unit/*.c tests/fuzz/*.c; do
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case $inc in */*) ;; *) [ -f "lib/$inc" ] || [ -f "lib/${inc%.h}.h" ] && breach "$f: #include \"$inc\" does not name its folder" ;; esac
	done
done

# liblsp.a is built with ar, which keys members by file name: two lib files
# with one name in different folders would silently replace each other.
dup=$(for f in lib/*/*.c; do basename "$f"; done | sort | uniq -d)
[ -z "$dup" ] || breach "file names used in two folders (ar would drop one): $dup"

# One network layer.  Comments are stripped before the search.
strip() { sed -e 's://.*$::' -e 's:/\*.*\*/::g' "$1"; }
for f in lib/*/*.c bin/*.c; do
	[ "$f" = lib/core/net.c ] && continue
	if strip "$f" | grep -nE '(^|[^A-Za-z0-9_.>])(bind|listen|accept4?)[[:space:]]*\(' >/dev/null; then
		breach "$f: calls bind/listen/accept itself (use lib/core/net.h)"
	fi
	if strip "$f" | grep -nE '(^|[^A-Za-z0-9_])(TLS|SSLv23)_server_method' >/dev/null; then
		breach "$f: makes a server TLS context itself (use lsp_net_tls_server)"
	fi
done

# Link sets: the tools that touch no media carry no libav.
for b in lsp-edge lsp-api lsp-ctl lsp-chat; do
	[ -x "bin/$b" ] || continue
	if readelf -d "bin/$b" 2>/dev/null | grep -E 'NEEDED.*\[lib(av|sw)' >/dev/null; then
		breach "bin/$b: links $(readelf -d "bin/$b" | sed -n 's/.*NEEDED.*\[\(lib\(av\|sw\)[^]]*\)\].*/\1/p' | tr '\n' ' ')"
	fi
done
[ $bad = 0 ] && echo "layers: ok ($(ls lib/*/*.c | wc -l) lib files in $(ls -d lib/*/ | wc -l) folders)"
exit $bad
