"""The drop-ins on whole models: Sigmoid, swap_sigmoid and SigmoidMode change no number."""

import copy
import re

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import sigact.torch as st  # noqa: E402
from examples.torch_swap import SECNN, train  # noqa: E402
from tests.helpers import assert_bitwise  # noqa: E402


def assert_trained_alike(model, reference, mode=None, steps=3):
    """Train both a few Adam steps; losses, gradients and weights must be bitwise equal."""
    losses = train(model, steps, mode=mode)
    losses_ref = train(reference, steps)
    assert losses == losses_ref
    for p, p_ref in zip(model.parameters(), reference.parameters(), strict=True):
        assert_bitwise(p.grad, p_ref.grad)
        assert_bitwise(p.detach(), p_ref.detach())


@pytest.fixture
def model():
    """The SE-style CNN of examples/torch_swap.py: nn.Sigmoid modules, torch.sigmoid and x.sigmoid()."""
    torch.manual_seed(0)
    return SECNN()


def count(model, cls):
    return sum(type(m) is cls for m in model.modules())


def test_module_repr_and_isinstance_make_it_a_drop_in():
    assert repr(st.Sigmoid()) == "Sigmoid(sigact)"
    assert repr(st.Sigmoid(inplace=True)) == "Sigmoid(sigact, inplace=True)"
    assert repr(nn.Sigmoid()) == "Sigmoid()"
    assert isinstance(st.Sigmoid(), nn.Sigmoid)
    assert list(st.Sigmoid().parameters()) == [] and st.Sigmoid().state_dict() == {}


@pytest.mark.parametrize("inplace", [False, True])
def test_module_matches_nn_sigmoid_values_and_gradients(inplace):
    x = torch.randn(6, 5, requires_grad=True)
    y = st.Sigmoid(inplace=inplace)(x * 1)
    y_ref = nn.Sigmoid()(x * 1)
    assert_bitwise(y.detach(), y_ref.detach())
    g = torch.randn(6, 5)
    assert_bitwise(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(y_ref, x, g)[0])


def test_swap_replaces_every_nn_sigmoid_and_keeps_state_dict(model):
    before = copy.deepcopy(model.state_dict())
    assert count(model, nn.Sigmoid) == 2
    assert st.swap_sigmoid(model) is model
    assert count(model, nn.Sigmoid) == 0 and count(model, st.Sigmoid) == 2
    after = model.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_swapped_model_trains_to_bitwise_equal_losses_and_gradients(model):
    reference = copy.deepcopy(model)
    st.swap_sigmoid(model)
    assert_trained_alike(model, reference)


def test_filter_fn_sees_fully_qualified_names_and_picks_which_to_swap(model):
    seen = []

    def only_head(module, name):
        seen.append(name)
        return name.startswith("head.")

    st.swap_sigmoid(model, filter_fn=only_head)
    assert sorted(seen) == ["gate", "head.2"]
    assert type(model.gate) is nn.Sigmoid and type(model.head[2]) is st.Sigmoid


def test_root_level_sigmoid_comes_back_replaced_with_its_training_flag():
    root = nn.Sigmoid().eval()
    swapped = st.swap_sigmoid(root)
    assert type(swapped) is st.Sigmoid and not swapped.training
    assert type(root) is nn.Sigmoid  # a root cannot change type in place
    assert st.swap_sigmoid(nn.Sigmoid(), filter_fn=lambda m, name: name != "").__class__ is nn.Sigmoid


def test_swap_leaves_user_subclasses_and_other_modules_alone():
    class Custom(nn.Sigmoid):
        def forward(self, x):
            return super().forward(x) * 2

    model = nn.Sequential(nn.Linear(2, 2), Custom(), nn.Tanh())
    st.swap_sigmoid(model)
    assert [type(m) for m in model] == [nn.Linear, Custom, nn.Tanh]


class TimmLikeSigmoid(nn.Module):
    """Behaves as timm.layers.Sigmoid: not an nn.Sigmoid, calls x.sigmoid(), has an inplace flag."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return x.sigmoid_() if self.inplace else x.sigmoid()


def squeeze_excite(gate):
    return nn.Sequential(nn.Conv2d(3, 4, 3), gate, nn.Conv2d(4, 2, 1), nn.Sigmoid())


@pytest.mark.parametrize("inplace", [False, True])
def test_classes_names_a_third_party_sigmoid_module_and_keeps_its_inplace_flag(inplace):
    torch.manual_seed(0)
    model = squeeze_excite(TimmLikeSigmoid(inplace=inplace)).eval()
    reference = copy.deepcopy(model)
    st.swap_sigmoid(model)  # the default reaches only nn.Sigmoid
    assert type(model[1]) is TimmLikeSigmoid and type(model[3]) is st.Sigmoid
    st.swap_sigmoid(model, classes=(nn.Sigmoid, TimmLikeSigmoid))
    assert [type(m) for m in model] == [nn.Conv2d, st.Sigmoid, nn.Conv2d, st.Sigmoid]
    assert model[1].inplace is inplace and not model[1].training and model[3].inplace is False
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    y, y_ref = model(x), reference(x)
    assert_bitwise(y.detach(), y_ref.detach())
    g = torch.randn_like(y)
    assert_bitwise(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(y_ref, x, g)[0])


def test_classes_replaces_only_the_named_classes():
    model = squeeze_excite(TimmLikeSigmoid())
    st.swap_sigmoid(model, classes=TimmLikeSigmoid)  # a single class reads as a one-tuple
    assert [type(m) for m in model] == [nn.Conv2d, st.Sigmoid, nn.Conv2d, nn.Sigmoid]
    st.swap_sigmoid(model, classes=[st.Sigmoid, nn.Sigmoid])  # sigact's own is left as it is
    assert [type(m) for m in model] == [nn.Conv2d, st.Sigmoid, nn.Conv2d, st.Sigmoid]
    assert type(st.swap_sigmoid(TimmLikeSigmoid(), classes=TimmLikeSigmoid)) is st.Sigmoid


@pytest.mark.parametrize("classes, error, message", [
    ((), ValueError, "classes is empty"),
    ("Sigmoid", TypeError, "got 'Sigmoid' of type str"),
    ((nn.Sigmoid, torch.sigmoid), TypeError, "must be nn.Module subclasses"),
    ((int,), TypeError, "got <class 'int'> of type type"),
    (nn.Sigmoid(), TypeError, "got Sigmoid() of type Sigmoid"),
])
def test_classes_that_are_not_module_classes_are_refused_clearly(classes, error, message):
    with pytest.raises(error, match=re.escape(message)):
        st.swap_sigmoid(nn.Sequential(nn.Sigmoid()), classes=classes)


@pytest.mark.slow
def test_timm_regnet_sigmoids_are_all_swapped_and_bitwise_equal():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    model = timm.create_model("regnety_002", pretrained=False).eval()
    reference = copy.deepcopy(model)
    st.swap_sigmoid(model)
    assert count(model, st.Sigmoid) == 0  # timm's own Sigmoid is not an nn.Sigmoid
    st.swap_sigmoid(model, classes=(nn.Sigmoid, timm.layers.Sigmoid))
    assert count(model, st.Sigmoid) == 13 and count(model, timm.layers.Sigmoid) == 0
    x = torch.randn(1, 3, 64, 64, requires_grad=True)
    y, y_ref = model(x), reference(x)
    assert_bitwise(y.detach(), y_ref.detach())
    g = torch.randn_like(y)
    assert_bitwise(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(y_ref, x, g)[0])


# The timm models docs/training.md names: which sigmoid module class each is built from.
TIMM_MODELS = {"efficientnet_b0": "nn", "mixnet_s": "nn", "regnety_002": "timm", "seresnet18": "timm",
               "ecaresnet26t": "timm", "rexnet_100": "timm", "eca_nfnet_l0": "timm"}


@pytest.mark.slow
@pytest.mark.parametrize("name", TIMM_MODELS)
def test_timm_models_keep_no_builtin_sigmoid_module_once_timms_class_is_named(name):
    timm = pytest.importorskip("timm")
    builtin = {"nn": nn.Sigmoid, "timm": timm.layers.Sigmoid}[TIMM_MODELS[name]]
    model = timm.create_model(name, pretrained=False)
    n = count(model, builtin)
    assert n > 0
    st.swap_sigmoid(model)
    assert count(model, st.Sigmoid) == (n if builtin is nn.Sigmoid else 0)
    st.swap_sigmoid(model, classes=(nn.Sigmoid, timm.layers.Sigmoid))
    assert count(model, st.Sigmoid) == n
    assert count(model, nn.Sigmoid) == count(model, timm.layers.Sigmoid) == 0


def test_mode_routes_every_functional_alias_to_sigact():
    x = torch.randn(3, requires_grad=True)
    calls = {
        "torch.sigmoid": lambda: torch.sigmoid(x),
        "F.sigmoid": lambda: nn.functional.sigmoid(x),
        "torch.special.expit": lambda: torch.special.expit(x),
        "Tensor.sigmoid": lambda: x.sigmoid(),
        "input= keyword": lambda: torch.sigmoid(input=x),
        "nn.Sigmoid": lambda: nn.Sigmoid()(x),
        "Tensor.sigmoid_": lambda: (x * 1).sigmoid_(),
        "torch.sigmoid_": lambda: torch.sigmoid_(x * 1),
    }
    with st.SigmoidMode():
        # Keep the outputs: on torch 2.10 and 2.11 a custom Function's node dies with its output,
        # and .name() on the orphaned grad_fn then raises RuntimeError.
        outputs = {k: call() for k, call in calls.items()}
    names = {k: y.grad_fn.name() for k, y in outputs.items()}
    expected = {k: "SigmoidFunctionBackward" for k in calls}
    expected["Tensor.sigmoid_"] = expected["torch.sigmoid_"] = "SigmoidInplaceFunctionBackward"
    assert names == expected


def test_mode_passes_other_calls_and_out_argument_through_untouched():
    x = torch.randn(3)
    out = torch.empty(3)
    with st.SigmoidMode():
        result = torch.sigmoid(x, out=out)
        tanh = torch.tanh(x)
    assert result is out and torch.equal(out, torch.sigmoid(x))
    assert torch.equal(tanh, torch.tanh(x))
    assert repr(st.SigmoidMode()) == "SigmoidMode()"


def test_mode_gives_an_unmodified_functional_model_bitwise_equal_training(model):
    reference = copy.deepcopy(model)
    assert_trained_alike(model, reference, mode=st.SigmoidMode())


def test_mode_and_swap_together_leave_no_builtin_sigmoid_in_the_graph(model):
    st.swap_sigmoid(model)
    x = torch.randn(2, 3, 16, 16)
    with st.SigmoidMode():
        out = model(x)

    def names(fn, seen):
        if fn is None or fn in seen:
            return set()
        seen.add(fn)
        return {fn.name()}.union(*(names(f, seen) for f, _ in fn.next_functions))

    graph = names(out.grad_fn, set())
    assert "SigmoidBackward0" not in graph
    assert "SigmoidFunctionBackward" in graph
