"""Mono mixes against stereo: role accuracy by speech time and ``qa eval`` agreement per check.

Each stereo call (default: the dev calls in ../shared/calls) is summed into one channel
(``_mono.make_mixes``) and audited both ways with the same model. Prints, per call, the share of
labelled single-party speech time whose role the mono transcript got right, then per check how
many calls agree with the labels: stereo vs mono, and mono vs stereo (same verdict).

    python bench/mono_agreement.py                       # the 10 dev calls
    python bench/mono_agreement.py --calls DIR --names a,b
    python bench/mono_agreement.py --calls DIR --beam-size 5   # the same with beam search
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SHARED, make_recognizer  # noqa: E402
from _mono import make_mixes  # noqa: E402

from qa_pipeline.config import PipelineOptions  # noqa: E402
from qa_pipeline.eval.evaluate import EvalPair, evaluate  # noqa: E402
from qa_pipeline.eval.roles import RoleTime, role_time  # noqa: E402
from qa_pipeline.pipeline import audit_call, find_meta  # noqa: E402
from qa_pipeline.policy.policy import load_policy  # noqa: E402


def audit_all(paths: list[Path], policy, recognizer) -> dict[str, dict]:
    reports = {}
    for path in paths:
        reports[path.stem] = audit_call(path, find_meta(path), policy, PipelineOptions(), recognizer).to_dict()
        print(f"  audited {path}", file=sys.stderr, flush=True)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=Path, default=SHARED / "calls")
    parser.add_argument("--names", default="", help="comma-separated call names (default: every labelled call)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", type=Path, help="write every report (stereo/NAME.json, mono/NAME.json) here")
    parser.add_argument("--stereo-from", type=Path,
                        help="read the stereo reports from this directory (a --keep of an earlier run) instead of auditing")
    parser.add_argument("--beam-size", type=int, help="decode with this beam instead of AsrOptions' default")
    args = parser.parse_args()
    wanted = [n for n in args.names.split(",") if n]
    stereo = sorted(p.with_name(p.name[: -len(".truth.json")] + ".wav") for p in args.calls.glob("*.truth.json"))
    stereo = [p for p in stereo if not wanted or p.stem in wanted]
    truths = {p.stem: json.loads(p.with_name(p.stem + ".truth.json").read_text(encoding="utf-8")) for p in stereo}
    policy = load_policy(None)
    recognizer = make_recognizer(**({"beam_size": args.beam_size} if args.beam_size else {}))
    with tempfile.TemporaryDirectory() as tmp:
        mono = make_mixes(stereo, Path(tmp))
        if args.stereo_from:
            stereo_reports = {p.stem: json.loads((args.stereo_from / f"{p.stem}.json").read_text(encoding="utf-8"))
                              for p in stereo}
        else:
            stereo_reports = audit_all(stereo, policy, recognizer)
        mono_reports = audit_all(mono, policy, recognizer)
    if args.keep:
        for kind, reports in (("stereo", stereo_reports), ("mono", mono_reports)):
            (args.keep / kind).mkdir(parents=True, exist_ok=True)
            for name, report in reports.items():
                (args.keep / kind / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))

    total = RoleTime()
    print("call           role-acc  coverage  flagged/utterances")
    for name, report in mono_reports.items():
        rt = role_time(truths[name]["turns"], report["utterances"], report["duration_s"])
        total = total + rt
        flagged = report["checks"]["speaker_roles"]["review"]
        print(f"{name:14} {100 * rt.accuracy:7.1f} % {100 * rt.coverage:7.1f} %  {flagged}/{len(report['utterances'])}")
    print(f"{'all':14} {100 * total.accuracy:7.1f} % {100 * total.coverage:7.1f} %   (speech time with the right role)")

    by_stereo = evaluate([EvalPair(n, truths[n], r) for n, r in stereo_reports.items()])
    by_mono = evaluate([EvalPair(n, truths[n], r) for n, r in mono_reports.items()])
    # "not decidable": the product says it cannot decide on a mono mix (hang-up: a tone in the mix and
    # no hangup_by in the metadata); such calls are in neither the agreed count nor the decided calls.
    print("\ncheck                     stereo   mono (decided)  not decidable  mono==stereo  mono disagrees on")
    rows = {}
    for check in by_stereo.checks:
        mono_check = by_mono.check(check.name)
        if check.total == 0:
            continue
        same = sum(a.agreed == b.agreed and a.predicted == b.predicted for a, b in zip(check.outcomes, mono_check.outcomes))
        wrong = ",".join(o.call.replace("dev_call_", "") for o in mono_check.disagreements)
        undecided = len(mono_check.not_decidable)
        print(f"{check.name:24} {check.agreed:3}/{check.total:<3} {mono_check.agreed:6}/{mono_check.total:<3}      "
              f"{undecided:5}         {same:5}/{len(check.outcomes):<3}      {wrong}")
        rows[check.name] = {"stereo": check.agreed, "stereo_calls": check.total, "mono": mono_check.agreed,
                            "mono_decided": mono_check.total, "mono_not_decidable": list(mono_check.not_decidable),
                            "same": same}
    if args.json:
        args.json.write_text(json.dumps({"role_accuracy": total.accuracy, "coverage": total.coverage, "checks": rows}, indent=2))


if __name__ == "__main__":
    main()
