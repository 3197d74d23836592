#!/usr/bin/env bash
# test: alone
# Every libFuzzer harness (tests/fuzz/fuzz_*.c) runs for a bounded time over
# a scratch copy of its committed corpus (tests/fuzz/corpus/<name>/, name
# without the fuzz_ prefix); any crash, leak, timeout or sanitizer report
# fails the test.  FUZZ_SECONDS (default 20) is the total, split evenly.
#
# Build: the same flags as `make fuzz` (clang -fsanitize=fuzzer,address,
# undefined), but each harness is linked only with the
# lib/*/*.c its includes reach (transitively), compiled once into
# build/fuzz/obj and reused while sources and headers are unchanged.  That
# keeps the run inside the time budget and independent of lib files a
# harness does not use.
# FUZZ_BUILD_ONLY=1 builds and stops: tests/run does that at nice 19
# while the other tests run, so this script, alone, spends its time fuzzing.
. "$(dirname "$0")/../lib.sh"
command -v clang >/dev/null || skip "clang not installed"
total=${FUZZ_SECONDS:-20}
mk() { make -s -C "$ROOT" --no-print-directory --eval 'lsp-print-%: ; @echo $($*)' "lsp-print-$1"; }
read -r -a cflags <<<"$(mk PKG_CFLAGS) $(mk PG_INC)"
read -r -a ldlibs <<<"$(mk LDLIBS_ALL) $(mk SRT_LIBS)" # libsrt: only lib/srtin users need it
flags=(-std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -I"$ROOT/lib" "-DLSP_VERSION=\"$(mk VERSION)\"" "${cflags[@]}")
obj=$ROOT/build/fuzz/obj
mkdir -p "$obj"
newest_h=$(ls -t "$ROOT"/lib/*/*.h | head -n1)

deps() { # source → the lib/*/*.c it needs, following "x.h" includes
	local todo=("$1") seen=" " got=" " f h x c
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}; todo=("${todo[@]:1}")
		for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f"); do
			[[ $seen == *" $h "* ]] && continue
			seen+="$h "
			[ -f "$ROOT/lib/$h.h" ] && todo+=("$ROOT/lib/$h.h")
			case $h in state/store*) continue ;; esac
			c=()
			[ -f "$ROOT/lib/$h.c" ] && c+=("$ROOT/lib/$h.c")
			# an internal header (x_int.h) joins the pieces of a split
			# module: every .c of its folder that includes it belongs to it
			case $h in */*_int) c+=($(grep -l "^#include \"$h.h\"" "$ROOT"/lib/"${h%%/*}"/*.c)) ;; esac
			for x in "${c[@]}"; do
				[[ $got == *" $x "* ]] && continue
				got+="$x "
				echo "$x"; todo+=("$x")
			done
		done
	done
}

# what each harness needs, then every stale object compiled and every
# stale harness linked, as many at once as there are CPUs
jobs=$(nproc 2>/dev/null || echo 2)
running=0
spawn() { # command…: run in the background, at most $jobs at once
	"$@" 2>>"$T/build.log" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then wait -n || build_failed=1; running=$((running - 1)); fi
}
drain() { while [ $running -gt 0 ]; do wait -n || build_failed=1; running=$((running - 1)); done; }
declare -A objs_of=() stale=()
names=()
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	n=$(basename "$src" .c); o_list=""
	for c in $(deps "$src"); do
		o=$obj/$(basename "$c" .c).o
		{ [ "$o" -nt "$c" ] && [ "$o" -nt "$newest_h" ]; } || stale[$o]=$c
		o_list+="$o "
	done
	objs_of[$n]=$o_list; names+=("$n")
done
[ ${#names[@]} -gt 0 ] || fail "no harness under tests/fuzz"
build_failed=0
for o in "${!stale[@]}"; do
	rm -f "$o"
	spawn clang -c -fsanitize=fuzzer-no-link "${flags[@]}" -o "$o" "${stale[$o]}"
done
drain
[ $build_failed = 0 ] || { tail -n 20 "$T/build.log"; fail "cannot compile lib/ for the harnesses"; }
harnesses=()
for n in "${names[@]}"; do
	src=$ROOT/tests/fuzz/$n.c
	read -r -a objs <<<"${objs_of[$n]}"
	fresh=1
	for f in "$src" "${objs[@]}" "$newest_h"; do [ "$ROOT/build/fuzz/$n" -nt "$f" ] || fresh=0; done
	[ $fresh = 1 ] || spawn clang -fsanitize=fuzzer "${flags[@]}" -o "$ROOT/build/fuzz/$n" "$src" "${objs[@]}" "${ldlibs[@]}"
	harnesses+=("$ROOT/build/fuzz/$n")
done
drain
[ $build_failed = 0 ] || { tail -n 20 "$T/build.log"; fail "cannot build a harness"; }
[ ${#harnesses[@]} -gt 0 ] || fail "no harness under tests/fuzz"
# FUZZ_BUILD_ONLY=1: only build (tests/run does so at nice 19 beside the
# other tests, then runs this script again to fuzz)
[ -z "${FUZZ_BUILD_ONLY:-}" ] || { ok "${#harnesses[@]} harnesses built"; exit 0; }
each=$(( total / ${#harnesses[@]} )); [ $each -ge 1 ] || each=1
fuzz_one() { # harness: runs it, its exit status in $T/<name>.rc
	local h=$1 n c d rc
	n=$(basename "$h"); c=${n#fuzz_}
	mkdir -p "$T/corpus/$n" "$T/art/$n"
	for d in "$ROOT/tests/fuzz/corpus/$c" "$ROOT/tests/fuzz/corpus/$n"; do
		[ -d "$d" ] && cp "$d"/* "$T/corpus/$n/" 2>/dev/null
	done
	"$h" -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$T/art/$n/" \
		"$T/corpus/$n" >"$T/$n.log" 2>&1; rc=$?
	echo $rc >"$T/$n.rc"
}
for h in "${harnesses[@]}"; do spawn fuzz_one "$h"; done
drain
for h in "${harnesses[@]}"; do
	n=$(basename "$h"); rc=$(cat "$T/$n.rc" 2>/dev/null || echo missing)
	if [ "$rc" != 0 ] || ls "$T/art/$n" | grep -q .; then
		tail -n 40 "$T/$n.log"
		for a in "$T/art/$n"/*; do [ -f "$a" ] && { echo "artifact $(basename "$a"):"; od -An -tx1 "$a" | head -n 8; }; done
		fail "$n: crash (rc=$rc)"
	fi
	ok "$n: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$T/$n.log" | tail -n1)s"
done
