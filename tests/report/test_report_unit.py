"""Unit tests of culturegan-report (report/): reading a run directory, the plots, the page.
Each test writes its own tiny run directory (JSON lines, PNGs from PIL, checkpoint folders);
run by /usr/bin/python3 (Debian's matplotlib and PIL)."""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("CULTUREGAN_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(SRC, "report"))

from PIL import Image  # noqa: E402

import culturegan_report  # noqa: E402
import page  # noqa: E402
import plots  # noqa: E402
import run_dir  # noqa: E402

TERMS = ["D_main.adv_fake", "D_main.adv_real", "D_main.cls", "G_main.adv", "G_main.rec"]


def write_metrics(d, steps, terms=TERMS, evals=(), tail=""):
    with open(os.path.join(d, "metrics.jsonl"), "w") as f:
        for s in range(1, steps + 1):
            row = {"step": s}
            row.update({t: 1.0 / (s + i) for i, t in enumerate(terms)})
            f.write(json.dumps(row) + "\n")
            if s in evals:
                f.write(json.dumps({"step": s, "eval.seconds": 1.5, "eval.classifier_val_accuracy": 0.7,
                                    "eval.target_accuracy_mean": 0.4, "eval.target_accuracy.ink": 0.3,
                                    "eval.target_accuracy.ukiyo_e": 0.5, "eval.fid": 9.0, "eval.kid": 0.2,
                                    "eval.cycle_psnr_db": 18.0, "eval.cycle_ssim": 0.6, "eval.diversity": 2.0,
                                    "eval.content_gradient_correlation": 0.6, "eval.content_gray_ssim": 0.5,
                                    "eval.checkerboard_index": None, "eval.kid_floor": 0.01}) + "\n")
        f.write(tail)


def write_grid(path, colour=(200, 30, 30)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGB", (34, 18), colour).save(path)


def full_run(d, steps=30):
    """A small but complete run directory."""
    write_metrics(d, steps, evals=(10, 20))
    with open(os.path.join(d, "config.toml"), "w") as f:
        f.write("[eval]\nevery = 10\n\n[train]\nsteps = 30\nmax_minutes = 0.0\nbatch_size = 2\n\n"
                "[sample]\nsource_culture = 'photo'\n")
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"exit_reason": "finished", "exit_code": 0, "steps": steps, "steps_total": 30,
                   "world_size": 2, "global_batch": 4, "images_per_second": 12.5, "wall_s": 65.0,
                   "cultures": ["ink", "photo", "ukiyo_e"]}, f)
    for s in (10, 20, 30):
        write_grid(os.path.join(d, "samples", f"step-{s:09d}.png"))
    write_grid(os.path.join(d, "samples", "final.png"))
    with open(os.path.join(d, "samples", "sources.txt"), "w") as f:
        f.write("photo/a.jpg\nphoto/b.jpg\n")
    os.makedirs(os.path.join(d, "eval"))
    for s, n in ((10, 1), (20, 5)):
        with open(os.path.join(d, "eval", f"step-{s:09d}.json"), "w") as f:
            json.dump({"cultures": ["ink", "photo", "ukiyo_e"], "source_culture": "photo",
                       "classifier_val_accuracy": 0.7, "target_accuracy": {"ink": 0.3, "ukiyo_e": 0.5},
                       "target_accuracy_mean": 0.4,
                       "confusion_target_to_predicted": {"ink": [n, 2, 3], "photo": [0, 4, 0],
                                                         "ukiyo_e": [1, 1, 2]}}, f)
    for s in (20, 30):
        c = os.path.join(d, "checkpoints", f"step-{s:09d}")
        os.makedirs(c)
        with open(os.path.join(c, "state.toml"), "w") as f:
            f.write(f"step = {s}\nsaved_unix_s = 1796124763\nworld_size = 2\n")
        with open(os.path.join(c, "G.pt"), "wb") as f:
            f.write(b"x" * 1000)
        if s == 30:
            open(os.path.join(c, "MANIFEST"), "w").close()
    os.makedirs(os.path.join(d, "checkpoints", "step-000000040.tmp-123"))
    with open(os.path.join(d, "generator.bundle"), "wb") as f:
        f.write(b"b" * 2_000_000)
    with open(os.path.join(d, "checkpoints", "latest"), "w") as f:
        f.write("step-000000030\n")


def render(d, **kw):
    run, text = culturegan_report.build_page(d, **kw)
    return run, text


def section(text, sid):
    m = re.search(rf'<section id="{sid}">(.*?)</section>', text, re.S)
    assert m, f"no section {sid}"
    return m.group(1)


class Base(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp(prefix="report-unit-")

    def tearDown(self):
        shutil.rmtree(self.d, ignore_errors=True)

    # assertIn would print the whole page on failure.
    def has(self, needle, text):
        self.assertTrue(needle in text, f"{needle!r} is not in the text ({len(text)} chars)")

    def has_not(self, needle, text):
        self.assertFalse(needle in text, f"{needle!r} is in the text ({len(text)} chars)")

    def assert_all_sections(self, text):
        for s in page.SECTIONS:
            self.has(f'<section id="{s}">', text)


class ReadRun(Base):
    def test_full_run(self):
        full_run(self.d)
        run = run_dir.read_run(self.d)
        self.assertEqual(sorted(run.losses), TERMS)
        self.assertEqual(run.losses["G_main.rec"].steps, list(range(1, 31)))
        self.assertIn("eval.kid", run.evals)
        self.assertTrue(math.isnan(run.evals["eval.checkerboard_index"].values[0]))  # null = non-finite
        self.assertEqual([s.label for s in run.samples], ["step 10", "step 20", "step 30", "final (step 30)"])
        self.assertEqual(run.sources, ["photo/a.jpg", "photo/b.jpg"])
        self.assertEqual(run.eval_report_step, 20)  # the newest eval/step-*.json
        self.assertEqual([c.name for c in run.checkpoints], ["step-000000020", "step-000000030"])
        self.assertFalse(run.checkpoints[0].complete)
        self.assertTrue(run.checkpoints[1].complete)
        self.assertEqual(run.checkpoints[1].bytes, 1000 + len("step = 30\nsaved_unix_s = 1796124763\nworld_size = 2\n"))
        self.assertEqual(run.latest_checkpoint, "step-000000030")
        self.assertEqual(run.notes, [])

    def test_resumed_run_newest_line_wins(self):
        with open(os.path.join(self.d, "metrics.jsonl"), "w") as f:
            for s, v in ((1, 1.0), (2, 2.0), (3, 3.0), (2, 20.0), (3, 30.0), (4, 40.0)):
                f.write(json.dumps({"step": s, "G_main.adv": v}) + "\n")
        run = run_dir.read_run(self.d)
        self.assertEqual(run.losses["G_main.adv"].steps, [1, 2, 3, 4])
        self.assertEqual(run.losses["G_main.adv"].values, [1.0, 20.0, 30.0, 40.0])

    def test_truncated_and_bad_lines_are_skipped_and_named(self):
        write_metrics(self.d, 5, tail='{"step": 6, "G_main.adv": 0.')
        with open(os.path.join(self.d, "metrics.jsonl"), "r+") as f:
            lines = f.read().split("\n")
            lines.insert(2, "not json at all")
            f.seek(0)
            f.write("\n".join(lines))
        run = run_dir.read_run(self.d)
        self.assertEqual(run.last_step, 5)
        self.assertEqual([i for i, _ in run.bad_lines], [3, 7])
        self.assertTrue(any("line 7 is incomplete (the trainer may be writing it)" in n for n in run.notes), run.notes)
        self.assertTrue(any("line 3 is not a JSON object" in n for n in run.notes), run.notes)
        self.assertEqual(len(run.losses["G_main.adv"].steps), 5)

    def test_moving_average(self):
        self.assertEqual(run_dir.moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
        ma = run_dir.moving_average([float("nan"), 2, float("nan"), 4], 3)
        self.assertTrue(math.isnan(ma[0]))
        self.assertEqual(ma[1:], [2, 2, 3])

    def test_exit_reasons(self):
        cases = [
            ({"exit_reason": "finished", "steps": 30}, "finished", "finished: all 30 steps"),
            ({"exit_reason": "time_budget", "steps": 12, "steps_total": 30}, "time_budget", "at step 12 of 30"),
            ({"exit_reason": "preempted", "steps": 7, "preempted_at_step": 7}, "preempted", "preempted at step 7"),
            ({"exit_reason": "failed", "steps": 3, "error": "non-finite loss"}, "failed", "failed at step 3: non-finite loss"),
            ({"exit_reason": "running", "steps": 3, "steps_total": 9}, "running", "running: step 3 of 9"),
            ({"steps": 2568, "wall_s": 1800}, "time_budget", "inferred"),  # an old summary.json
        ]
        for summary, code, words in cases:
            run = run_dir.RunData(self.d)
            run.summary = summary
            run.config = {"train": {"steps": 5000, "max_minutes": 30.0}}
            got_code, sentence = run_dir.exit_reason(run)
            self.assertEqual(got_code, code, summary)
            self.assertIn(words, sentence)


class Page(Base):
    def test_full_page_is_self_contained(self):
        full_run(self.d)
        run, text = render(self.d)
        self.assert_all_sections(text)
        self.assertNotRegex(text, r'(src|href)="(https?:)?//')
        self.has_not("<link", text)
        self.assertNotRegex(text, r"<script[^>]+src=")
        srcs = re.findall(r'<img[^>]+src="([^"]*)"', text)
        self.assertEqual(len(srcs), 4)
        self.assertTrue(all(s.startswith("data:image/") for s in srcs))
        self.has_not('class="missing"', text)
        self.has("finished: all 30 steps", section(text, "summary"))
        conf = section(text, "confusion")
        self.has("eval/step-000000020.json (step 20)", conf)
        self.has(">5<", conf)  # the newest report's count
        self.has("latest", section(text, "checkpoints"))
        self.has("no MANIFEST: incomplete", section(text, "checkpoints"))
        self.has_not("tmp-123", text)
        self.has("ink | photo | ukiyo_e", section(text, "samples"))

    def test_loss_plot_has_one_series_per_term(self):
        full_run(self.d)
        _, text = render(self.d)
        svg = section(text, "losses")
        self.assertEqual(sorted(re.findall(r'id="loss-series-([^"]+)"', svg)), TERMS)
        self.assertEqual(sorted(re.findall(r'id="loss-raw-([^"]+)"', svg)), TERMS)
        ids = re.findall(r'\bid="([^"]+)"', text)
        self.assertEqual(len(ids), len(set(ids)), "duplicate ids across the inline SVGs")

    def test_every_eval_key_is_drawn(self):
        full_run(self.d)
        run, text = render(self.d)
        drawn = re.findall(r'id="eval-[a-z_]+-(eval\.[^"]+)"', section(text, "eval"))
        self.assertEqual(sorted(drawn), sorted(run.evals))

    def test_svg_is_deterministic(self):
        full_run(self.d)
        run = run_dir.read_run(self.d)
        self.assertEqual(plots.loss_svg(run.losses), plots.loss_svg(run.losses))
        self.assertEqual(plots.eval_svg(run.evals), plots.eval_svg(run.evals))

    def test_long_series_are_thinned(self):
        write_metrics(self.d, 5000, terms=["G_main.adv"])
        run = run_dir.read_run(self.d)
        svg = plots.loss_svg(run.losses)
        self.assertLess(len(svg), 400_000)

    def test_empty_run_dir_says_what_is_missing(self):
        _, text = render(self.d)
        self.assert_all_sections(text)
        for words in ("No summary.json", "No config.toml", "No metrics.jsonl", "No sample grids",
                      "No eval report with a confusion matrix", "No checkpoints"):
            self.has(words, text)
        self.has("unknown: no summary.json", section(text, "summary"))

    def test_no_evals_says_eval_every_is_off(self):
        write_metrics(self.d, 3)
        with open(os.path.join(self.d, "config.toml"), "w") as f:
            f.write("[eval]\nevery = 0\n")
        _, text = render(self.d)
        self.has("eval.every = 0: in-training evaluation is off", section(text, "eval"))
        self.assertEqual(len(re.findall(r'id="loss-series-', text)), len(TERMS))

    def test_truncated_metrics_line_page(self):
        write_metrics(self.d, 4, tail='{"step": 5, "D_main.cls": 1.')
        _, text = render(self.d)
        self.assert_all_sections(text)
        self.has("metrics.jsonl line 5 is incomplete", text)

    def test_corrupt_grid_is_skipped_and_named(self):
        full_run(self.d)
        with open(os.path.join(self.d, "samples", "step-000000020.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n truncated")
        _, text = render(self.d)
        self.has("step-000000020.png could not be decoded", section(text, "samples"))
        self.assertEqual(len(re.findall(r"<img ", text)), 3)

    def test_many_grids_are_evenly_picked(self):
        for s in range(1, 101):
            write_grid(os.path.join(self.d, "samples", f"step-{s:09d}.png"))
        write_grid(os.path.join(self.d, "samples", "final.png"))
        _, text = render(self.d, max_grids=10)
        labels = re.findall(r'data-label="([^"]+)"', text)
        self.assertEqual(len(labels), 10)
        self.assertEqual(labels[0], "step 1")
        self.assertEqual(labels[-1], "final")
        self.has("Showing 10 of 101 grids", text)

    def test_big_grid_is_embedded_as_jpeg(self):
        path = os.path.join(self.d, "samples", "step-000000001.png")
        os.makedirs(os.path.dirname(path))
        Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(path)  # noise: a big PNG
        self.assertGreater(os.path.getsize(path), page.JPEG_ABOVE)
        _, text = render(self.d)
        self.has('src="data:image/jpeg;base64,', text)


class Cli(Base):
    def run_cli(self, *args):
        return subprocess.run([sys.executable, os.path.join(SRC, "report", "culturegan_report.py"), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_writes_default_output_atomically(self):
        full_run(self.d)
        r = self.run_cli(self.d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("wrote", r.stdout)
        self.assertTrue(os.path.getsize(os.path.join(self.d, "report.html")) > 1000)
        self.assertEqual([f for f in os.listdir(self.d) if ".tmp-" in f], [])

    def test_output_flag(self):
        full_run(self.d)
        out = os.path.join(self.d, "elsewhere.html")
        r = self.run_cli(self.d, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(out))

    def test_not_a_directory(self):
        r = self.run_cli(os.path.join(self.d, "nope"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a directory", r.stderr)

    def test_unwritable_output_is_exit_1(self):
        os.makedirs(os.path.join(self.d, "report.html"))  # a directory where the file goes
        r = self.run_cli(self.d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot write", r.stderr)
        self.assertEqual([f for f in os.listdir(self.d) if ".tmp-" in f], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
