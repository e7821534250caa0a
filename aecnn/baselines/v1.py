"""The users' V1 autoencoder, rebuilt from its description in the field notes.

::

    x (B,1,201,201) -> [3x3 conv stride 2, ReLU] x 4: 1->16->32->64->128 channels,
         201 -> 101 -> 51 -> 26 -> 13
      -> flatten (B, 128*13*13 = 21632) -> Linear -> (B, embedding_dim) -> [Dropout(0.45)]
    z -> Linear -> ReLU -> (B,128,13,13) -> [3x3 transposed conv stride 2, ReLU] x 3:
         128->64->32->16, 13 -> 26 -> 51 -> 101
      -> 3x3 transposed conv stride 2 16->1, 101 -> 201 -> sigmoid -> (B,1,201,201)

Only 201x201 inputs work (the linear layer fixes the 13x13 grid); other sizes raise a
``ValueError`` instead of V1's shape error deep inside ``F.linear``.
"""
from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

V1_SIZE = (201, 201)
_CHANNELS = (1, 16, 32, 64, 128)
_GRID = 13
# output_padding of each transposed conv (13->26, 26->51, 51->101, 101->201)
_OUTPUT_PADDING = (1, 0, 0, 0)


class AutoencoderV1(nn.Module):
    """V1: ``Autoencoder_CNN(DropOut=False, embedding_dim=100)`` of the users' code.

    Args:
        DropOut: apply ``nn.Dropout(p=0.45)`` to the embedding (training mode only).
        embedding_dim: latent size.
        sigmoid: end the decoder with a sigmoid (V1's described design; the users' notes say
            their best runs had it off).

    Raises:
        ValueError: on a non-positive ``embedding_dim``, or (in :meth:`Embedding`) on an input
            that is not ``(B, 1, 201, 201)``.
    """

    def __init__(self, DropOut: bool = False, embedding_dim: int = 100, sigmoid: bool = True) -> None:
        super().__init__()
        if not isinstance(embedding_dim, int) or embedding_dim <= 0:
            raise ValueError(f"embedding_dim must be a positive integer, got {embedding_dim!r}")
        self.embedding_dim = self.latent_size = embedding_dim
        self.DropOut = DropOut
        self.sigmoid = sigmoid
        enc: list[nn.Module] = []
        for cin, cout in pairwise(_CHANNELS):
            enc += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*enc)
        flat = _CHANNELS[-1] * _GRID * _GRID
        self.fc_enc = nn.Linear(flat, embedding_dim)
        self.dropout = nn.Dropout(p=0.45)
        self.fc_dec = nn.Linear(embedding_dim, flat)
        dec: list[nn.Module] = [nn.ReLU(inplace=True), nn.Unflatten(1, (_CHANNELS[-1], _GRID, _GRID))]
        rev = _CHANNELS[::-1]
        for i, (cin, cout) in enumerate(pairwise(rev)):
            dec.append(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=_OUTPUT_PADDING[i]))
            if cout != 1:
                dec.append(nn.ReLU(inplace=True))
        self.decoder = nn.Sequential(*dec)

    @staticmethod
    def _check_input(x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (1, *V1_SIZE):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"V1 takes only (B, 1, 201, 201) inputs, got {shape}: its linear layer is "
                             "built for a 128x13x13 feature map; crop or resize to 201x201, or use an "
                             "aecnn model (create_autoencoder(..., input_size=(H, W))) for other sizes")

    def Embedding(self, x: torch.Tensor) -> torch.Tensor:
        """Latent ``(B, embedding_dim)`` of ``x`` ``(B, 1, 201, 201)``."""
        self._check_input(x)
        z = self.fc_enc(self.encoder(x).flatten(1))  # (B, L)
        return self.dropout(z) if self.DropOut else z

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`Embedding` (flat latent)."""
        return self.Embedding(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Image ``(B, 1, 201, 201)`` from a latent ``(B, embedding_dim)``."""
        if z.ndim != 2 or z.shape[1] != self.embedding_dim:
            raise ValueError(f"latent must be (B, {self.embedding_dim}), got {tuple(z.shape)}")
        x = self.decoder(self.fc_dec(z))  # (B, 1, 201, 201)
        return torch.sigmoid(x) if self.sigmoid else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``(B, 1, 201, 201)``."""
        return self.decode(self.Embedding(x))
