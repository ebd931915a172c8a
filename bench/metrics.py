"""Precision, recall and F1 for the accuracy benchmarks (shared by accuracy.py and sponsor_read.py)."""

from __future__ import annotations


def scores(predicted: list[bool], truth: list[bool]) -> dict[str, float]:
    tp = sum(p and t for p, t in zip(predicted, truth))
    fp = sum(p and not t for p, t in zip(predicted, truth))
    fn = sum(t and not p for p, t in zip(predicted, truth))
    tn = len(truth) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": precision, "recall": recall, "f1": f1}


def row(name: str, s: dict[str, float], width: int = 44) -> str:
    return (f"  {name:<{width}} P {s['precision']:.3f}  R {s['recall']:.3f}  F1 {s['f1']:.3f}   "
            f"(TP {s['tp']}, FP {s['fp']}, FN {s['fn']}, TN {s['tn']})")
