from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aecnn.sequence import fit_pca, pca_embed, pca_latents


def test_pca_matches_sklearn():
    sk = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(60, 5)) @ rng.normal(size=(5, 40)) + rng.normal(scale=0.1, size=(60, 40))).astype(np.float32)
    ours = pca_latents(x, 4)
    ref = sk.PCA(4).fit_transform(x)
    for k in range(4):  # components agree up to sign
        c = np.corrcoef(ours[:, k], ref[:, k])[0, 1]
        assert abs(c) > 0.999
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), atol=1e-3)
    # tall data (N > D) goes through the SVD branch and gives the same answer
    tall = np.concatenate([x, x + 0.01], 0)[:, :10]
    np.testing.assert_allclose(np.abs(pca_latents(tall, 3)), np.abs(sk.PCA(3).fit_transform(tall)), atol=1e-3)


def test_pca_fit_on_subset_and_reconstruction():
    rng = np.random.default_rng(1)
    frames = rng.random((30, 8, 8)).astype(np.float32)
    pca = fit_pca(frames[:20], 19)
    z = pca.transform(frames)
    assert z.shape == (30, 19)
    np.testing.assert_allclose(pca.inverse_transform(z[:20]), frames[:20].reshape(20, -1), atol=1e-4)
    assert 0.99 < pca.explained_ratio <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="n_components"):
        fit_pca(frames, 100)


def test_pca_more_components_than_the_data_has():
    """Components beyond the centred data's rank (repeated frames, k = N) are zero, not huge:
    reconstruction stays exact and latents stay bounded (they used to blow up by ~1e6)."""
    rng = np.random.default_rng(2)
    base = rng.random((5, 12, 12)).astype(np.float32)
    frames = np.concatenate([base, base, base[:2]])  # 12 frames of rank 5 (4 after centring)
    pca = fit_pca(frames, 8)
    z = pca.transform(frames)
    assert np.abs(z[:, 4:]).max() < 1e-3 and np.abs(z).max() < 10
    np.testing.assert_allclose(pca.inverse_transform(z), frames.reshape(12, -1), atol=1e-4)


def test_pca_embed_writes_embed_format(tmp_path):
    from aecnn.data.dataset import Geometry
    from aecnn.inference.embed import load_embeddings

    rng = np.random.default_rng(2)
    for seq in ("s1", "s2"):
        (tmp_path / "d" / seq).mkdir(parents=True)
        for t in (1, 2, 10):
            Image.fromarray((rng.random((40, 48)) * 255).astype(np.uint8)).save(tmp_path / "d" / seq / f"f{t}.png")
    out = pca_embed(tmp_path / "d", tmp_path / "pca.npz", 3, Geometry(input_size=(40, 48)), fit_sequences=["s1"],
                    progress=False)
    emb = load_embeddings(out)
    assert emb.latents.shape == (6, 3) and emb.sequence.tolist() == ["s1"] * 3 + ["s2"] * 3
    assert emb.frame_index.tolist() == [0, 1, 2] * 2 and emb.path[2].endswith("f10.png")
    assert emb.meta["kind"] == "pca" and emb.meta["fit_sequences"] == ["s1"]
