"""Deploying a sigact-swapped model: torch.export yields the standard aten.sigmoid, and ONNX
export yields Sigmoid nodes that onnxruntime runs to the same outputs."""

import contextlib

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import sigact.torch as st  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 16), Swish(), nn.Linear(16, 2),
                         nn.Sigmoid())


def exported(net, x, mode=None):
    with mode or contextlib.nullcontext():
        return torch.export.export(net, (x,))


def call_targets(program):
    return [str(node.target) for node in program.graph.nodes if node.op == "call_function"]


def test_export_of_swapped_model_yields_the_standard_aten_sigmoid():
    x = torch.randn(4, 8)
    builtin = model()
    swapped = st.swap_sigmoid(model())
    ours = exported(swapped, x, mode=st.SigmoidMode())
    ref = exported(builtin, x)
    assert call_targets(ours) == call_targets(ref)
    assert call_targets(ours).count("aten.sigmoid.default") == 3
    assert not any("sigact" in t or "autograd" in t for t in call_targets(ours))
    assert_bitwise(ours.module()(x), builtin(x))


def test_export_of_in_place_module_yields_the_in_place_op():
    x = torch.randn(4, 8)
    net = nn.Sequential(nn.Linear(8, 8), st.Sigmoid(inplace=True))
    program = torch.export.export(net, (x,))
    assert any(t.startswith("aten.sigmoid") for t in call_targets(program))
    assert_bitwise(program.module()(x), torch.sigmoid(net[0](x)))


@pytest.mark.slow
def test_onnx_export_yields_sigmoid_nodes_and_onnxruntime_reproduces_outputs(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    x = torch.randn(4, 8)
    paths = {}
    for name, net, mode in [("sigact", st.swap_sigmoid(model()), st.SigmoidMode()),
                            ("builtin", model(), contextlib.nullcontext())]:
        with mode:
            program = torch.onnx.export(net.eval(), (x,), dynamo=True, verbose=False)
        paths[name] = tmp_path / f"{name}.onnx"
        program.save(str(paths[name]))
    ops = [node.op_type for node in onnx.load(str(paths["sigact"])).graph.node]
    assert ops.count("Sigmoid") == 3
    assert ops == [node.op_type for node in onnx.load(str(paths["builtin"])).graph.node]

    def run(path):
        session = ort.InferenceSession(str(path))
        return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]

    ours, ref = run(paths["sigact"]), run(paths["builtin"])
    assert (ours == ref).all(), "the two exported graphs run identically"
    torch.testing.assert_close(torch.from_numpy(ours), model()(x).detach(), rtol=1e-5, atol=1e-6)
