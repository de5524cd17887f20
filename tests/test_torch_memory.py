"""What sigact keeps for backward: its output and nothing else, checked through saved-tensor hooks."""

import pytest

torch = pytest.importorskip("torch")

import sigact.torch as st  # noqa: E402


def saved_tensors(fn, *args):
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        out = fn(*args)
    return saved, out


def test_each_call_saves_exactly_one_tensor_sharing_storage_with_the_output():
    x = torch.randn(64, 32, requires_grad=True)
    saved, y = saved_tensors(st.sigmoid, x)
    assert len(saved) == 1
    assert saved[0].untyped_storage().data_ptr() == y.untyped_storage().data_ptr()
    assert saved[0].shape == y.shape


def test_in_place_form_saves_the_input_memory_and_allocates_no_output():
    x = torch.randn(64, requires_grad=True)
    h = x * 3
    saved, y = saved_tensors(st.sigmoid_, h)
    assert y.data_ptr() == h.data_ptr()
    assert [t.untyped_storage().data_ptr() for t in saved] == [h.untyped_storage().data_ptr()]


def test_sigmoid_between_two_linears_adds_no_bytes_to_what_autograd_keeps():
    torch.manual_seed(0)
    first, second = torch.nn.Linear(32, 64), torch.nn.Linear(64, 16)
    x = torch.randn(128, 32)
    with_sigact = st.audit(lambda t: second(st.sigmoid(first(t))), x)
    with_identity = st.audit(lambda t: second(first(t)), x)
    with_builtin = st.audit(lambda t: second(torch.sigmoid(first(t))), x)
    assert len(with_sigact) == len(with_identity) + 1  # one more entry, the sigmoid's output ...
    assert with_sigact.total_bytes == with_identity.total_bytes  # ... in memory already kept
    assert with_sigact.total_bytes == with_builtin.total_bytes


def test_naive_composite_keeps_at_least_one_more_activation_sized_buffer():
    first, second = torch.nn.Linear(32, 64), torch.nn.Linear(64, 16)
    x = torch.randn(128, 32)
    activation_bytes = 128 * 64 * 4
    ours = st.audit(lambda t: second(st.sigmoid(first(t))), x).total_bytes
    naive = st.audit(lambda t: second(1 / (1 + torch.exp(-first(t)))), x).total_bytes
    assert naive - ours >= activation_bytes


def test_audit_labels_origins_and_counts_shared_storage_once():
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), st.Sigmoid(), torch.nn.Linear(8, 2))
    x = torch.randn(16, 4, requires_grad=True)
    report = st.audit(model, x)
    origins = [e.origin for e in report.entries]
    assert origins.count("argument") == 1 and origins.count("parameter") >= 1
    sigmoid_entries = [e for e in report.entries if e.shape == (16, 8)]
    assert len(sigmoid_entries) == 2 and len({e.storage for e in sigmoid_entries}) == 1
    assert report.total_bytes == sum(e.bytes for e in report.entries) - 16 * 8 * 4
    assert "total:" in str(report) and "KiB" not in str(report).splitlines()[0]
    assert repr(report).startswith("SavedReport(framework='torch', entries=")


def test_audit_marks_what_fn_returns_as_output():
    report = st.audit(st.sigmoid, torch.randn(10, requires_grad=True))
    assert [(e.origin, e.bytes, e.dtype) for e in report.entries] == [("output", 40, "float32")]


def test_audit_passes_keyword_arguments_on_and_counts_them_as_arguments():
    x, scale = torch.randn(10, requires_grad=True), torch.randn(10, requires_grad=True)
    report = st.audit(lambda x, *, scale: st.sigmoid(x * scale), x, scale=scale)
    assert sorted(e.origin for e in report.entries) == ["argument", "argument", "output"]


def test_audit_counts_a_modules_buffer_as_a_parameter():
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", torch.full((10,), 3.0))

        def forward(self, x):
            return st.sigmoid(x * self.scale)  # keeps the buffer for x's gradient

    module = Scaled()
    report = st.audit(module, torch.randn(10, requires_grad=True))
    assert sorted(e.origin for e in report.entries) == ["output", "parameter"]
    assert next(e for e in report.entries if e.origin == "parameter").storage == module.scale.data_ptr()


def test_audit_hands_saved_tensors_back_unchanged_to_a_backward_run_inside_it():
    # A training step audited whole: its backward unpacks what the forward saved, under the audit's hooks.
    def step(x):
        loss = (st.sigmoid(x) * torch.arange(10.0)).sum()
        loss.backward()
        return loss

    audited, plain = (torch.linspace(-3, 3, 10).requires_grad_() for _ in range(2))
    st.audit(step, audited)
    step(plain)
    assert torch.equal(audited.grad, plain.grad)
