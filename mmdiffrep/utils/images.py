"""Image grids for sample PNGs (the DDPM sample hook, the sample-quality tool)."""
import numpy as np
import torch


def make_grid(images: torch.Tensor, pad: int = 2) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> an (rows*H, cols*W, 3) uint8 grid."""
    n, c, h, w = images.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    pixels = ((images.float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte()
    pixels = pixels.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, k = divmod(i, cols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h,
             pad + k * (w + pad):pad + k * (w + pad) + w] = pixels[i]
    return grid
