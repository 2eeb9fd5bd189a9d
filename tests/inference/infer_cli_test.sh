#!/usr/bin/env bash
# culturegan-infer through its command line: links no MPI/NCCL/HDF5, keeps the input size,
# handles all / mixes / strength, and reports bad input in one clear line with exit code 2.
set -euo pipefail
BIN=${CULTUREGAN_BIN_DIR:?}; HELPER=${1:?helper}
INFER="$BIN/culturegan-infer"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. No MPI, NCCL or HDF5 among the binary's own dependencies, nor brought in beyond what
#    LibTorch itself pulls (Debian's libtorch_cpu depends on HDF5 transitively).
if readelf -d "$INFER" | grep NEEDED | grep -iE 'mpi|nccl|hdf5'; then fail "culturegan-infer links MPI/NCCL/HDF5 directly"; fi
torch_cpu=$(ldd "$INFER" | awk '/libtorch_cpu/ {print $3}')
comm -23 <(ldd "$INFER" | awk '{print $1}' | sort -u) <(ldd "$torch_cpu" | awk '{print $1}' | sort -u) > "$work/extra"
if grep -iE 'mpi|nccl|hdf5' "$work/extra"; then fail "culturegan-infer pulls MPI/NCCL/HDF5 beyond LibTorch's own"; fi

"$HELPER" "$work/g.bundle" "$work/in.png" 50 30
# 2. One target, output at the input's size.
"$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target ukiyo_e --output "$work/out.png"
[ "$("$HELPER" --size "$work/out.png")" = "50x30" ] || fail "output size is not 50x30"
# 3. all, a mix and a strength, into a folder, with a grid.
"$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target all --output "$work/all" --grid "$work/grid.png"
[ "$(ls "$work/all" | wc -l)" = 3 ] || fail "--target all did not write 3 images"
[ -s "$work/grid.png" ] || fail "no grid"
"$INFER" --bundle "$work/g.bundle" --input "$work" --target ukiyo_e:0.5,chinese_ink_landscape:0.5 --strength 0.3 \
  --output "$work/mix" | grep -q "in_ukiyo_e-0.50+chinese_ink_landscape-0.50.png" || fail "mix output not named"
# Strength 0 from source photo reproduces G(x, photo); the output differs from strength 1.
"$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target ukiyo_e --strength 0 --output "$work/s0.png"
"$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target photo --output "$work/photo.png"
cmp -s "$work/s0.png" "$work/photo.png" || fail "strength 0 is not the source culture's output"
cmp -s "$work/s0.png" "$work/out.png" && fail "strength 0 equals strength 1"

# 4. Other model kinds. starganv2: latent styles differ by --seed; --reference applies a
#    reference image's style (different references, different outputs; strength 0 with no
#    source culture returns the input, as the latent path does). cyclegan: both directions.
#    dcgan: --count samples per target.
"$HELPER" "$work/v2.bundle" "$work/ref1.png" 24 24 starganv2
"$HELPER" "$work/cyc.bundle" "$work/ref2.png" 40 20 cyclegan
"$HELPER" "$work/dc.bundle" "$work/unused.png" 8 8 dcgan
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --seed 1 --output "$work/v2s1.png"
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --seed 2 --output "$work/v2s2.png"
[ "$("$HELPER" --size "$work/v2s1.png")" = "50x30" ] || fail "starganv2 output is not 50x30"
cmp -s "$work/v2s1.png" "$work/v2s2.png" && fail "starganv2: --seed 1 and 2 gave the same image"
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --reference "$work/ref1.png" --output "$work/r1.png"
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --reference "$work/ref2.png" --output "$work/r2.png"
cmp -s "$work/r1.png" "$work/r2.png" && fail "starganv2: two references gave the same image"
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --reference "$work/ref1.png" \
  --strength 0 --source none --output "$work/r0.png"
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --strength 0 --source none --output "$work/l0.png"
cmp -s "$work/r0.png" "$work/l0.png" || fail "starganv2: --reference at strength 0 with --source none is not the (resized) input"
"$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target ukiyo_e --reference "$work/ref1.png" \
  --output "$work/refdir" | grep -q "in_ukiyo_e-ref-ref1.png" || fail "reference output not named"
# cyclegan: photo → ukiyo_e at the input's size; the other direction differs.
"$INFER" --bundle "$work/cyc.bundle" --input "$work/in.png" --target ukiyo_e --output "$work/c1.png"
"$INFER" --bundle "$work/cyc.bundle" --input "$work/in.png" --target photo --source none --output "$work/c2.png"
[ "$("$HELPER" --size "$work/c1.png")" = "50x30" ] || fail "cyclegan output is not 50x30"
cmp -s "$work/c1.png" "$work/c2.png" && fail "cyclegan: both directions gave the same image"
# dcgan: --count images per target, 16x16, and a grid.
"$INFER" --bundle "$work/dc.bundle" --count 2 --target all --output "$work/dc" --grid "$work/dcgrid.png" > /dev/null
[ "$(ls "$work/dc" | wc -l)" = 6 ] || fail "dcgan --count 2 --target all did not write 6 images"
[ "$("$HELPER" --size "$work/dc/ukiyo_e_001.png")" = "16x16" ] || fail "dcgan sample is not 16x16"
[ -s "$work/dcgrid.png" ] || fail "no dcgan grid"

# 5. Bad input: exit code 2 and one line naming what is wrong.
expect_error() {  # expect_error PATTERN cmd...
  local pattern=$1; shift
  set +e; "$@" > "$work/stdout" 2> "$work/stderr"; local rc=$?; set -e
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc from: $*"
  grep -q -- "$pattern" "$work/stderr" || { cat "$work/stderr"; fail "stderr lacks '$pattern'"; }
  [ "$(wc -l < "$work/stderr")" -le 2 ] || { cat "$work/stderr"; fail "more than one error line"; }
}
expect_error "unknown culture 'klingon'; the bundle knows: photo, ukiyo_e, chinese_ink_landscape" \
  "$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target klingon --output "$work/x.png"
echo "not a bundle" > "$work/bad.bundle"
expect_error "$work/bad.bundle: file: expected a culturegan generator bundle" \
  "$INFER" --bundle "$work/bad.bundle" --input "$work/in.png" --target photo --output "$work/x.png"
expect_error "$work/nope.png: no such file" \
  "$INFER" --bundle "$work/g.bundle" --input "$work/nope.png" --target photo --output "$work/x.png"
expect_error "weight of 'photo': expected a number >= 0, found 'abc'" \
  "$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target photo:abc --output "$work/x.png"
echo "not an image" > "$work/fake.png"
expect_error "$work/fake.png" \
  "$INFER" --bundle "$work/g.bundle" --input "$work/fake.png" --target photo --output "$work/x.png"
expect_error "--reference: the stargan bundle has no style encoder" \
  "$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --target ukiyo_e --reference "$work/ref1.png" --output "$work/x.png"
expect_error "--reference: expected one --target culture" \
  "$INFER" --bundle "$work/v2.bundle" --input "$work/in.png" --target all --reference "$work/ref1.png" --output "$work/x"
expect_error "a dcgan bundle generates from noise: expected --count N" \
  "$INFER" --bundle "$work/dc.bundle" --input "$work/in.png" --target ukiyo_e --output "$work/x"
expect_error "--count: the stargan bundle translates input images" \
  "$INFER" --bundle "$work/g.bundle" --input "$work/in.png" --count 2 --target ukiyo_e --output "$work/x"
expect_error "--input: required for a translator bundle" \
  "$INFER" --bundle "$work/g.bundle" --target ukiyo_e --output "$work/x"
echo "PASS"
