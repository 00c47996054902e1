"""Plots written as PNG files (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _save(fig: Any, out: Path) -> Path:
    """Write ``fig`` to ``out`` atomically (a temporary file renamed) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def convergence_plot(history: Sequence[dict[str, Any]], path: str | Path, *,
                     title: str = "PageRank convergence", tol_line: float | None = None) -> Path:
    """Plot the L1 change per iteration (log scale) to ``path`` (written atomically).

    Parameters
    ----------
    history
        Dicts with ``iteration`` and ``l1_delta`` (as ``PageRankResult.history``).
    path
        PNG file to write; parent directories are created.
    title
        Figure title.
    tol_line
        Draw the stopping threshold (``N * tol``) as a horizontal line.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    its = [h["iteration"] for h in history]
    deltas = [max(float(h["l1_delta"]), 1e-300) for h in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.semilogy(its, deltas, marker="o", markersize=3, label="L1 change")
    if tol_line:
        ax.axhline(tol_line, color="grey", linestyle="--", label="N·tol")
    ax.set_xlabel("iteration")
    ax.set_ylabel("L1 change (log)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, out)


def s_curve_plot(similarity: Sequence[float], probability: Sequence[float], path: str | Path,
                 *, bands: int, rows: int, threshold: float) -> Path:
    """Plot LSH's S-curve ``P(candidate | similarity)`` with the threshold (MMDS §3.4.2).

    Parameters
    ----------
    similarity, probability
        The curve's points (as the ``s_curve`` table holds them).
    path
        PNG file to write (atomically); parent directories are created.
    bands, rows
        The banding, named in the title.
    threshold
        The similarity asked for: a vertical line, with the curve's value there.

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(similarity, probability, label=f"1 - (1 - s^{rows})^{bands}")
    at = 1.0 - (1.0 - threshold**rows) ** bands
    ax.axvline(threshold, color="grey", linestyle="--", label=f"threshold {threshold:g}")
    ax.plot([threshold], [at], "o", color="C3", label=f"P = {at:.3f} at the threshold")
    ax.set_xlabel("Jaccard similarity s")
    ax.set_ylabel("probability of becoming a candidate")
    ax.set_title(f"LSH S-curve: {bands} bands of {rows} rows")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    return _save(fig, out)


def loss_curve_plot(history: Sequence[dict[str, Any]], path: str | Path, *,
                    best_epoch: int | None = None, title: str = "Training loss") -> Path:
    """Plot the training and validation loss per epoch, the best epoch marked (MMDS §12.2).

    Parameters
    ----------
    history
        Dicts with ``epoch``, ``train_loss`` and ``validation_loss`` (``None`` without a
        validation split), as the ``training_history`` table's rows.
    path
        PNG file to write (atomically); parent directories are created.
    best_epoch
        The epoch whose weights were kept (a vertical line and a dot on its loss); default:
        the epoch of least validation loss, or of least training loss without validation.
    title
        Figure title.

    Returns
    -------
    Path

    Notes
    -----
    The training loss is the mean objective of the epoch's mini-batches (loss plus penalty, the
    weights changing during the epoch); the validation loss is the loss alone, with the
    epoch's final weights. A log scale when the losses span more than a factor of 100.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    epochs = [int(h["epoch"]) for h in history]
    train = [float(h["train_loss"]) for h in history]
    valid = [h.get("validation_loss") for h in history]
    has_valid = any(v is not None for v in valid)
    watched = [float("nan") if v is None else float(v) for v in valid] if has_valid else train
    if best_epoch is None:
        scored = [(w, e) for w, e in zip(watched, epochs) if not math.isnan(w)]
        best_epoch = min(scored)[1] if scored else None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(epochs, train, marker="o", markersize=3, label="training objective")
    if has_valid:
        ax.plot(epochs, watched, marker="o", markersize=3, label="validation loss")
    if best_epoch is not None and best_epoch in epochs:
        at = watched[epochs.index(best_epoch)]
        ax.axvline(best_epoch, color="grey", linestyle="--")
        ax.plot([best_epoch], [at], "o", color="C3", label=f"best epoch {best_epoch}")
    positive = [v for v in (*train, *watched) if v > 0]  # NaN > 0 is false
    if positive and max(positive) > 100 * min(positive):
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, out)
