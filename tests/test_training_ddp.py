"""Two CPU processes under torchrun (gloo) train one model with DDP and end with equal weights."""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from physioaffect.training import init_distributed, train

    rank, world = init_distributed("gloo")
    assert world == 2, world
    torch.manual_seed(100 + rank)  # different initial weights: DDP must broadcast rank 0's
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    rng = np.random.default_rng(0)  # the same data on both ranks; each trains on its shard
    y = rng.integers(0, 3, 90)
    X = (rng.normal(size=(3, 4))[y] + 0.3 * rng.normal(size=(90, 4))).astype(np.float32)
    hist = train(model, X, y, epochs=4, batch_size=8, lr=0.05, validation_data=(X[:30], y[:30]),
                 patience=10, progress=False, seed=5)
    out = Path(sys.argv[1])
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()},
               out / f"rank{rank}.pt")
    (out / f"rank{rank}.txt").write_text(f"{world} {len(hist.loss)} {hist.loss[-1]!r}")
    torch.distributed.destroy_process_group()
""")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is unavailable")
def test_two_gloo_ranks_end_with_identical_weights(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           str(script), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the ranks trained on different shards: their training losses differ, their weights do not
    info0 = (tmp_path / "rank0.txt").read_text().split()
    info1 = (tmp_path / "rank1.txt").read_text().split()
    assert info0[:2] == info1[:2] == ["2", "4"]
    assert info0[2] != info1[2]
