"""The run report end to end (docs/report.md), on a corpus this test makes itself.

A real 20-step run under mpirun -np 2 (sample grids every 5 steps, in-training eval every 10,
report.every = 5): the trainer refreshes run.dir/report.html during the run and at the end;
that page is checked in headless Chromium (check_page.py: screenshot not blank, every
section in the DOM, one loss series per loss term of metrics.jsonl, every grid decoded). The
checker is shown to fail on a broken copy. Pages for damaged run directories (a truncated
metrics.jsonl line, no evals, nothing at all) still render and say what is missing.
The trainer's side: report.every = 0 writes the report only at the end; summary.json records
finished / time_budget / preempted (SIGUSR1) / failed (non-finite loss); a report that cannot
be written, or a missing culturegan-report, is a warning and training ends with exit 0.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_page  # noqa: E402

BIN = os.environ.get("CULTUREGAN_BIN_DIR", "build/bin")
SRC = os.environ.get("CULTUREGAN_SOURCE_DIR", os.getcwd())
TRAIN = os.path.join(BIN, "culturegan-train")
MPIRUN = shutil.which("mpirun") or "mpirun"
CULTURES = ("ink", "photo", "ukiyo_e")
WORK = os.path.join(os.environ.get("CULTUREGAN_TEST_WORK") or "/tmp/culturegan-report-tests", "run")


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def make_corpus():
    from PIL import Image
    rng = random.Random(3)
    src = os.path.join(WORK, "images")
    for ci, c in enumerate(CULTURES):
        os.makedirs(os.path.join(src, c))
        for k in range(8):
            img = Image.new("RGB", (40, 40))
            img.putdata([((ci * 90 + rng.randrange(70)) % 256, (k * 30 + rng.randrange(40)) % 256,
                          (200 - ci * 60 + rng.randrange(50)) % 256) for _ in range(40 * 40)])
            img.save(os.path.join(src, c, f"{k:02d}.png"))
    out = os.path.join(WORK, "corpus.h5")
    subprocess.run([os.path.join(BIN, "culturegan-ingest"), "--input", src, "--output", out, "--size", "32",
                    "--val-fraction", "0.25", "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    return out


def train_cmd(corpus, run_dir, steps, extra=(), exe=TRAIN):
    sets = {
        "data.corpus": corpus, "data.image_size": 32, "model.g_conv_dim": 4, "model.d_conv_dim": 4,
        "model.g_res_blocks": 1, "train.batch_size": 2, "data.threads": 1, "train.log_every_s": 0,
        "train.sample_every": 0, "sample.count": 2, "run.dir": run_dir, "train.steps": steps,
        "checkpoint.every": 0, "data.no_flip_cultures": "[]", "distributed.check_every": 10,
    }
    args = [MPIRUN, "-np", "2", "--oversubscribe", exe, "--config", os.path.join(SRC, "configs", "quickstart.toml")]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    for e in extra:
        args += ["--set", e]
    return args


def run(cmd, expect_rc=0, env=None, timeout=300):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=e, timeout=timeout)
    if expect_rc is not None and p.returncode != expect_rc:
        print(p.stdout[-6000:])
        fail(f"exit {p.returncode}, expected {expect_rc}: {' '.join(cmd[-8:])}")
    return p.stdout


def summary(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


def report_line(out, run_dir):
    m = re.search(rf"culturegan-train: report {re.escape(run_dir)}/report.html \(refreshes during training: "
                  rf"(\d+) started, (\d+) skipped while one ran; final one in ([\d.]+) s; longest training "
                  rf"stall ([\d.]+) ms\)", out)
    if not m:
        print(out[-4000:])
        fail("no 'culturegan-train: report ...' line")
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4))


def page_text(run_dir):
    with open(os.path.join(run_dir, "report.html"), encoding="utf-8") as f:
        return f.read()


def expect_check(page, run_dir, what):
    failures = check_page.check(page, run_dir, shot=os.path.join(WORK, f"{what}.png"))
    if failures:
        fail(f"{what}: " + "; ".join(failures))
    ok(f"{what}: renders in headless Chromium, every section, series and image checked")


def main():
    if not check_page.chromium():
        fail("chromium is not installed (scripts/install-deps.sh installs it)")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    corpus = make_corpus()
    clf = os.path.join(WORK, "clf.pt")
    subprocess.run([os.path.join(BIN, "culturegan-eval"), "--corpus", corpus, "--epochs", "1", "--width", "4",
                    "--source", "photo", "--classifier", clf], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # The real 20-step run: the trainer writes the report during the run and at its end.
    r20 = os.path.join(WORK, "run20")
    out = run(train_cmd(corpus, r20, 20, ("report.every=5", "train.sample_every=5", "eval.every=10",
                                          f"eval.classifier={clf}", "eval.classifier_width=4",
                                          "checkpoint.every=10")))
    started, skipped, final_s, stall_ms = report_line(out, r20)
    if started + skipped != 3 or started < 1:
        fail(f"report.every=5 over 20 steps: {started} refreshes started + {skipped} skipped, expected 3 "
             "(steps 5, 10, 15; the end writes the final one)")
    print(f"MEASURED: 20 steps at 32 px, report.every=5: {started} refreshes ({skipped} skipped), final report "
          f"{final_s:.1f} s, longest training stall {stall_ms:.1f} ms")
    s = summary(r20)
    if (s.get("exit_reason"), s.get("exit_code"), s.get("steps"), s.get("steps_total")) != ("finished", 0, 20, 20):
        fail(f"summary.json: {s}")
    if s.get("cultures") != list(CULTURES):
        fail(f"summary.json cultures {s.get('cultures')}")
    for step in (10, 20):
        if not os.path.exists(os.path.join(r20, "eval", f"step-{step:09d}.json")):
            fail(f"no eval/step-{step:09d}.json from the in-training evaluation")
    text = page_text(r20)
    if "finished: all 20 steps" not in text:
        fail("the page does not say the run finished")
    expect_check(os.path.join(r20, "report.html"), r20, "report-20-steps")
    shutil.copy(os.path.join(r20, "report.html"), os.path.join(WORK, "report-20-steps.html"))

    # The CLI, with -o.
    cli = os.path.join(WORK, "cli.html")
    out = run([os.path.join(BIN, "culturegan-report"), r20, "-o", cli])
    if "wrote" not in out:
        fail(f"culturegan-report printed: {out}")
    cli_text = open(cli, encoding="utf-8").read()
    for sid in check_page.SECTIONS:
        if f'<section id="{sid}">' not in cli_text:
            fail(f"culturegan-report -o: no section {sid}")
    ok("culturegan-report RUN_DIR -o FILE")

    # The checker can fail: a section gone, a loss series gone, a grid that does not decode.
    broken = os.path.join(WORK, "broken.html")
    b = re.sub(r'<section id="confusion">.*?</section>', "", text, flags=re.S)
    b = b.replace('id="loss-series-G_main.adv"', 'id="loss-gone-G_main.adv"')
    b = re.sub(r'(<img id="grid-0" src="data:image/[a-z]+;base64,)[^"]+"', r'\1AAAA"', b)
    open(broken, "w", encoding="utf-8").write(b)
    failures = " | ".join(check_page.check(broken, r20, shot=os.path.join(WORK, "broken.png")))
    for words in ("sections missing from the DOM: ['confusion']", "loss plot series", "did not decode"):
        if words not in failures:
            fail(f"the checker missed a broken page ({words!r}); it said: {failures}")
    ok("the checker fails on a page without a section, a loss series or a decodable grid")

    # Damaged run directories still give a page that says what is missing.
    damaged = os.path.join(WORK, "damaged")
    shutil.copytree(r20, damaged)
    shutil.rmtree(os.path.join(damaged, "eval"))
    with open(os.path.join(damaged, "metrics.jsonl"), "rb+") as f:
        data = f.read()
        f.truncate(len(data) - 20)  # the last line cut mid-way
    nometrics = os.path.join(WORK, "no-metrics")
    shutil.copytree(r20, nometrics)
    os.remove(os.path.join(nometrics, "metrics.jsonl"))
    empty = os.path.join(WORK, "empty")
    os.makedirs(empty)
    for d, words in ((damaged, "is incomplete (the trainer may be writing it)"),
                     (nometrics, "No metrics.jsonl"), (empty, "No summary.json")):
        run([os.path.join(BIN, "culturegan-report"), d])
        if words not in page_text(d):
            fail(f"{d}: the page does not say {words!r}")
        expect_check(os.path.join(d, "report.html"), d, f"page-{os.path.basename(d)}")
    sc = check_page.selfcheck(os.path.join(empty, "report.html"))
    if len(sc["missing"]) < 5:
        fail(f"the empty run's page names only {sc['missing']} as missing")

    # report.every = 0: only the final report.
    r0 = os.path.join(WORK, "every0")
    out = run(train_cmd(corpus, r0, 6, ("report.every=0",)))
    started, skipped, _, _ = report_line(out, r0)
    if (started, skipped) != (0, 0) or not os.path.exists(os.path.join(r0, "report.html")):
        fail(f"report.every=0: {started} refreshes, {skipped} skipped; report.html written: "
             f"{os.path.exists(os.path.join(r0, 'report.html'))}")
    ok("report.every = 0 writes the report only at the end")

    # A report that cannot be written is a warning; training finishes with exit 0.
    rbad = os.path.join(WORK, "unwritable")
    os.makedirs(os.path.join(rbad, "report.html"))  # a directory where the page goes
    out = run(train_cmd(corpus, rbad, 4, ("report.every=2",)))
    if "culturegan-train: warning: report refresh failed (exit 1;" not in out or summary(rbad)["exit_reason"] != "finished":
        print(out[-3000:])
        fail("an unwritable report.html was not a warning with exit 0")
    ok("a failed report is a warning, not a stop")

    # No culturegan-report beside the trainer: a warning.
    lone = os.path.join(WORK, "lonebin")
    os.makedirs(lone)
    shutil.copy(TRAIN, lone)
    rlone = os.path.join(WORK, "lone")
    out = run(train_cmd(corpus, rlone, 2, exe=os.path.join(lone, "culturegan-train")))
    if "culturegan-train: warning: no run report:" not in out:
        print(out[-3000:])
        fail("a missing culturegan-report gave no warning")
    ok("a missing culturegan-report is a warning, not a stop")

    # Exit reasons in summary.json and on the page.
    rt = os.path.join(WORK, "budget")
    run(train_cmd(corpus, rt, 100000, ("train.max_minutes=0.0001",)))
    if summary(rt)["exit_reason"] != "time_budget" or "stopped by the time budget" not in page_text(rt):
        fail(f"time budget: {summary(rt)}")
    ok("time budget -> exit_reason time_budget")

    rf = os.path.join(WORK, "failed")
    out = run(train_cmd(corpus, rf, 10), expect_rc=1, env={"CULTUREGAN_FAULT_NAN_AT_STEP": "3"})
    s = summary(rf)
    if s["exit_reason"] != "failed" or s.get("exit_code") != 1 or "non-finite" not in s.get("error", ""):
        fail(f"a non-finite loss: summary.json {s}")
    if "failed at step" not in page_text(rf):
        fail("the failed run's page does not say it failed")
    ok("non-finite loss -> exit_reason failed, with the error")

    rp = os.path.join(WORK, "preempted")
    p = subprocess.Popen(train_cmd(corpus, rp, 100000), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    t = threading.Thread(target=lambda: [lines.append(x) for x in p.stdout], daemon=True)
    t.start()
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not any(re.match(r"step [3-9]/", x) for x in lines):
        time.sleep(0.05)
    if p.poll() is not None:
        fail("the run ended before it could be signalled:\n" + "".join(lines))
    p.send_signal(signal.SIGUSR1)
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("no exit within 120 s of SIGUSR1")
    t.join(10)
    s = summary(rp)
    if rc != 75 or s["exit_reason"] != "preempted" or s.get("preempted_at_step") != s["steps"]:
        print("".join(lines)[-3000:])
        fail(f"SIGUSR1: exit {rc}, summary.json {s}")
    if f"preempted at step {s['steps']}" not in page_text(rp):
        fail("the preempted run's page does not say so")
    ok(f"SIGUSR1 -> exit 75, exit_reason preempted at step {s['steps']}")
    print("PASS")


if __name__ == "__main__":
    main()
