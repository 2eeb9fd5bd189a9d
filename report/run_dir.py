"""Reads what culturegan-train leaves in a run directory into one RunData, noting what is
missing or unreadable instead of failing: a page can always be drawn from it.

    summary.json      world size, global batch, images/s, wall time, steps, exit reason
    config.toml       the resolved config
    metrics.jsonl     {"step": N, "<phase>.<term>": loss, ...} per step, and the eval.* lines
    eval/step-*.json  the full in-training evaluation reports (confusion matrix); else eval.json
    samples/          step-*.png sample grids, final.png, sources.txt
    checkpoints/      step-* directories (state.toml, MANIFEST) and `latest`
"""
import json
import math
import os
import re
import time
import tomllib

# A grid file name: samples/step-000000200.png.
_GRID = re.compile(r"^step-(\d+)\.png$")
_CKPT = re.compile(r"^step-(\d+)$")
_EVAL = re.compile(r"^step-(\d+)\.json$")


class Series:
    """One metric over steps: `steps` ascending, `values` floats (NaN where the line held
    null, i.e. a non-finite value)."""

    def __init__(self, name):
        self.name = name
        self.by_step = {}

    def add(self, step, value):
        # A resumed run appends again from its checkpoint's step: the newest line wins.
        self.by_step[step] = value

    @property
    def steps(self):
        return sorted(self.by_step)

    @property
    def values(self):
        return [self.by_step[s] for s in self.steps]

    def non_finite(self):
        return sum(1 for v in self.by_step.values() if not math.isfinite(v))


class RunData:
    """Everything the report shows. Each attribute is None (or empty) when its file is missing;
    `notes` says, in a sentence each, what is missing or was skipped."""

    def __init__(self, run_dir):
        self.run_dir = os.path.abspath(run_dir)
        self.name = os.path.basename(self.run_dir.rstrip("/")) or self.run_dir
        self.notes = []           # what is missing or was skipped, for the page's top box
        self.summary = None       # dict from summary.json
        self.config_text = None   # config.toml as written
        self.config = {}          # config.toml parsed ({} when missing or unparsable)
        self.losses = {}          # term ("D_main.adv_fake") -> Series
        self.evals = {}           # key ("eval.kid") -> Series
        self.metrics_lines = 0    # lines read from metrics.jsonl
        self.metrics_present = False
        self.bad_lines = []       # (line number, why) of metrics.jsonl lines that were skipped
        self.last_step = None     # the newest step in metrics.jsonl
        self.samples = []         # Sample, oldest first, final.png last
        self.sources = []         # samples/sources.txt: the grid's rows
        self.eval_report = None   # the newest full eval report (dict), for the confusion matrix
        self.eval_report_path = None
        self.eval_report_step = None  # its step, for eval/step-*.json
        self.checkpoints = []     # Checkpoint, oldest first
        self.latest_checkpoint = None
        self.bundle_bytes = None  # generator.bundle's size, None when absent

    @property
    def cultures(self):
        """The corpus's cultures (summary.json, else the eval report), or []."""
        c = (self.summary or {}).get("cultures") or (self.eval_report or {}).get("cultures") or []
        return [str(x) for x in c] if isinstance(c, list) else []

    def config_value(self, dotted, default=None):
        """config.toml's value of 'section.key', or default."""
        node = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node


class Sample:
    def __init__(self, path, step, label):
        self.path, self.step, self.label = path, step, label


class Checkpoint:
    def __init__(self, name, path):
        self.name, self.path = name, path
        self.step = None
        self.saved_unix_s = None
        self.world_size = None
        self.bytes = 0
        self.complete = False  # has its MANIFEST (written last, docs/checkpoint-format.md)


def _read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _read_summary(run, path):
    if not os.path.exists(path):
        run.notes.append("No summary.json: the run has not started yet, or stopped before "
                         "writing it; the summary below comes from metrics.jsonl and config.toml.")
        return
    try:
        s = json.loads(_read_text(path))
        if not isinstance(s, dict):
            raise ValueError("not a JSON object")
        run.summary = s
    except ValueError as e:
        run.notes.append(f"summary.json is not readable JSON ({e}); the summary below comes from "
                         "metrics.jsonl and config.toml.")


def _read_config(run, path):
    if not os.path.exists(path):
        run.notes.append("No config.toml: the resolved config is not shown.")
        return
    run.config_text = _read_text(path)
    try:
        run.config = tomllib.loads(run.config_text)
    except tomllib.TOMLDecodeError as e:
        run.notes.append(f"config.toml does not parse as TOML ({e}); it is shown as text.")


def _read_metrics(run, path):
    if not os.path.exists(path):
        run.notes.append("No metrics.jsonl: no loss curves and no eval metrics (rank 0 writes it "
                         "from the first step on).")
        return
    run.metrics_present = True
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    ends_open = not data.endswith(b"\n") and data != b""
    if lines and lines[-1] == b"":
        lines.pop()
    for i, raw in enumerate(lines, start=1):
        run.metrics_lines += 1
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            step = row.pop("step")
            if isinstance(step, bool) or not isinstance(step, int):
                raise ValueError("no integer 'step'")
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            last = i == len(lines) and ends_open
            why = ("incomplete (the trainer may be writing it)" if last
                   else f"not a JSON object with a 'step' ({str(e).splitlines()[0][:80]})")
            run.bad_lines.append((i, why))
            continue
        run.last_step = step if run.last_step is None else max(run.last_step, step)
        for key, v in row.items():
            if v is None:
                v = float("nan")  # the trainer writes null for a non-finite value
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            target = run.evals if key.startswith("eval.") else run.losses
            target.setdefault(key, Series(key)).add(step, float(v))
    for i, why in run.bad_lines[:5]:
        run.notes.append(f"metrics.jsonl line {i} is {why}: skipped.")
    if len(run.bad_lines) > 5:
        run.notes.append(f"... and {len(run.bad_lines) - 5} more unreadable metrics.jsonl lines.")
    if not run.losses:
        run.notes.append("metrics.jsonl holds no loss values yet: no loss curves.")
    if not run.evals:
        every = run.config_value("eval.every")
        why = ("eval.every = 0 in config.toml" if every == 0 else
               "no evaluation has run yet" if isinstance(every, int) else "eval.every unknown")
        run.notes.append(f"metrics.jsonl has no eval.* lines ({why}): no eval metrics.")


def _read_samples(run, d):
    if not os.path.isdir(d):
        run.notes.append("No samples/ folder: no sample grids.")
        return
    grids = []
    for f in os.listdir(d):
        m = _GRID.match(f)
        if m:
            grids.append((int(m.group(1)), f))
    for step, f in sorted(grids):
        run.samples.append(Sample(os.path.join(d, f), step, f"step {step}"))
    final = os.path.join(d, "final.png")
    if os.path.exists(final):
        step = run.summary.get("steps") if run.summary else None
        label = f"final (step {int(step)})" if isinstance(step, (int, float)) else "final"
        run.samples.append(Sample(final, int(step) if isinstance(step, (int, float)) else None, label))
    if not run.samples:
        run.notes.append("samples/ holds no grids yet (train.sample_every steps, and final.png "
                         "at the end).")
    src = os.path.join(d, "sources.txt")
    if os.path.exists(src):
        run.sources = [l.strip() for l in _read_text(src).splitlines() if l.strip()]


def _read_eval_report(run):
    """The newest in-training report (eval/step-*.json), else culturegan-eval's eval.json."""
    d = os.path.join(run.run_dir, "eval")
    candidates = []
    if os.path.isdir(d):
        candidates = sorted((int(m.group(1)), f) for f in os.listdir(d) if (m := _EVAL.match(f)))
    paths = [(os.path.join(d, f), step) for step, f in reversed(candidates)]
    paths.append((os.path.join(run.run_dir, "eval.json"), None))
    for p, step in paths:
        if not os.path.exists(p):
            continue
        try:
            r = json.loads(_read_text(p))
        except ValueError as e:
            run.notes.append(f"{os.path.relpath(p, run.run_dir)} is not readable JSON ({e}): skipped.")
            continue
        if isinstance(r, dict) and "confusion_target_to_predicted" in r and "cultures" in r:
            run.eval_report, run.eval_report_path, run.eval_report_step = r, p, step
            return
    run.notes.append("No eval report with a confusion matrix (eval/step-*.json from eval.every, "
                     "or eval.json from culturegan-eval --output RUN_DIR/eval.json).")


def _read_checkpoints(run, d):
    if not os.path.isdir(d):
        run.notes.append("No checkpoints/ folder: no checkpoints yet.")
        return
    latest = os.path.join(d, "latest")
    if os.path.exists(latest):
        run.latest_checkpoint = _read_text(latest).strip()
    found = []
    for f in os.listdir(d):
        m = _CKPT.match(f)
        p = os.path.join(d, f)
        if not m or not os.path.isdir(p):
            continue  # temp (.tmp-*) and set-aside (.old-*) directories are not checkpoints
        c = Checkpoint(f, p)
        c.step = int(m.group(1))
        for entry in os.scandir(p):
            if entry.is_file():
                c.bytes += entry.stat().st_size
        c.complete = os.path.exists(os.path.join(p, "MANIFEST"))
        try:
            st = tomllib.loads(_read_text(os.path.join(p, "state.toml")))
            c.saved_unix_s = st.get("saved_unix_s")
            c.world_size = st.get("world_size")
        except (OSError, tomllib.TOMLDecodeError):
            pass
        found.append(c)
    run.checkpoints = sorted(found, key=lambda c: c.step)
    if not run.checkpoints:
        run.notes.append("checkpoints/ holds no checkpoint yet (checkpoint.every steps, and one "
                         "at the end).")


def read_run(run_dir):
    """Reads RUN_DIR into a RunData; never raises for missing or damaged files."""
    run = RunData(run_dir)
    _read_summary(run, os.path.join(run.run_dir, "summary.json"))
    _read_config(run, os.path.join(run.run_dir, "config.toml"))
    _read_metrics(run, os.path.join(run.run_dir, "metrics.jsonl"))
    _read_samples(run, os.path.join(run.run_dir, "samples"))
    _read_eval_report(run)
    _read_checkpoints(run, os.path.join(run.run_dir, "checkpoints"))
    b = os.path.join(run.run_dir, "generator.bundle")
    if os.path.exists(b):
        run.bundle_bytes = os.path.getsize(b)
    return run


def moving_average(values, window):
    """Trailing mean over the last `window` finite values (NaNs are skipped, and give NaN
    only while no finite value has been seen)."""
    out, acc, buf = [], 0.0, []
    for v in values:
        if math.isfinite(v):
            buf.append(v)
            acc += v
            if len(buf) > window:
                acc -= buf.pop(0)
        out.append(acc / len(buf) if buf else float("nan"))
    return out


def exit_reason(run):
    """(short code, sentence) for how the run ended, from summary.json; inferred (and said so)
    for a summary.json written before the trainer recorded exit reasons."""
    s = run.summary or {}
    steps = s.get("steps", run.last_step)
    total = s.get("steps_total", run.config_value("train.steps"))
    steps_i = int(steps) if isinstance(steps, (int, float)) else None
    reason = s.get("exit_reason")
    if reason == "finished":
        return "finished", f"finished: all {steps_i} steps"
    if reason == "time_budget":
        return "time_budget", (f"stopped by the time budget (train.max_minutes = "
                               f"{run.config_value('train.max_minutes', '?')}) at step {steps_i}"
                               f"{f' of {total}' if total else ''}; saved and exported")
    if reason == "preempted":
        k = s.get("preempted_at_step", steps_i)
        return "preempted", (f"preempted at step {int(k)} (exit 75): a checkpoint was saved; "
                             "requeue with --resume auto")
    if reason == "failed":
        err = s.get("error") or "see the training log"
        return "failed", f"failed at step {steps_i}: {err}"
    if reason == "running":
        upd = s.get("updated_unix_s")
        age = f", summary updated {_ago(upd)}" if isinstance(upd, (int, float)) else ""
        return "running", (f"running: step {steps_i}{f' of {total}' if total else ''}{age} "
                           "(or stopped without a word: killed)")
    if reason is not None:
        return str(reason), str(reason)
    if not s:
        return "unknown", "unknown: no summary.json (running, or stopped before the end)"
    if isinstance(total, int) and steps_i is not None and steps_i >= total:
        return "finished", f"finished: all {steps_i} steps (inferred: summary.json has no exit_reason)"
    if run.config_value("train.max_minutes", 0):
        return "time_budget", (f"stopped by the time budget at step {steps_i} of {total} "
                               "(inferred: summary.json has no exit_reason)")
    return "unknown", "ended (summary.json has no exit_reason)"


def _ago(unix_s):
    dt = max(0.0, time.time() - float(unix_s))
    return f"{format_duration(dt)} ago"


def format_duration(seconds):
    """'1h02m03s' style, as the trainer's progress line."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(seconds + 0.5)
    if s >= 3600:
        return f"{s // 3600}h{(s // 60) % 60:02d}m{s % 60:02d}s"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
