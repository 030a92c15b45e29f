"""Frozen-feature evaluation: a linear probe and a k-NN classifier on feature vectors.

Used by the analysis tools (the U-Net probe sweep, the DRL code probe). Both are full-batch
and deterministic, so numbers reproduce exactly for the same features.
"""
import torch
import torch.nn.functional as F


def linear_probe_accuracy(xtr: torch.Tensor, ytr: torch.Tensor, xva: torch.Tensor,
                          yva: torch.Tensor, num_classes: int, steps: int = 300,
                          lr: float = 1e-2, weight_decay: float = 1e-3) -> float:
    """Top-1 (%) on (xva, yva) of a linear classifier trained on standardised (xtr, ytr)
    with full-batch Adam."""
    mean, std = xtr.mean(0), xtr.std(0) + 1e-6
    xtr, xva = (xtr - mean) / std, (xva - mean) / std
    with torch.random.fork_rng(devices=[]):  # seeded init; the caller's RNG is untouched
        torch.manual_seed(0)
        head = torch.nn.Linear(xtr.shape[1], num_classes)
    opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(head(xtr), ytr).backward()
            opt.step()
    with torch.no_grad():
        return (head(xva).argmax(1) == yva).float().mean().item() * 100


@torch.no_grad()
def knn_accuracy(xtr: torch.Tensor, ytr: torch.Tensor, xva: torch.Tensor, yva: torch.Tensor,
                 num_classes: int, k: int = 20, temperature: float = 0.07) -> float:
    """Top-1 (%) of the weighted k-NN classifier of Wu et al. 2018 (cosine similarity,
    votes ``exp(sim / temperature)``), the k-NN protocol of self-supervised learning."""
    if k > len(xtr):
        raise ValueError(f'k={k} is larger than the {len(xtr)} training features')
    xtr, xva = F.normalize(xtr.float(), dim=1), F.normalize(xva.float(), dim=1)
    sim, idx = (xva @ xtr.T).topk(k, dim=1)
    votes = torch.zeros(len(xva), num_classes)
    votes.scatter_add_(1, ytr[idx], (sim / temperature).exp())
    return (votes.argmax(1) == yva).float().mean().item() * 100
