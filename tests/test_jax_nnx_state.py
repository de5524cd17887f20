"""Flax NNX state through sigact.jax.swap: whatever a swapped function writes into the modules it is given
(RNG counts, BatchNorm statistics, plain Variables, an optimizer's state, new attributes) reaches the
caller's objects exactly as without the swap, eagerly and under every NNX transform it composes with."""

import functools

import pytest

jax = pytest.importorskip("jax")
nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402
from flax.errors import TraceContextError  # noqa: E402

import sigact.jax as sj  # noqa: E402
from tests.helpers import assert_bitwise, assert_trees_bitwise  # noqa: E402

WRAPS = {"built-in": lambda f: f, "swap": sj.swap}


def state_leaves(*nodes):
    """Every state leaf of ``nodes`` with its path; RNG keys as their raw key data."""
    out = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(nnx.state(nodes)):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append((jax.tree_util.keystr(path), leaf))
    return out


def assert_same_state(a, b, structure=True):
    """Same graph structure (unless the objects hold functions made apart, as an optimizer's optax
    transformation), same paths, every state leaf bitwise."""
    assert not structure or nnx.graphdef(a) == nnx.graphdef(b)
    leaves_a, leaves_b = state_leaves(a), state_leaves(b)
    assert [p for p, _ in leaves_a] == [p for p, _ in leaves_b]
    for (path, x), (_, y) in zip(leaves_a, leaves_b, strict=True):
        try:
            assert_bitwise(x, y)
        except AssertionError as error:
            raise AssertionError(f"state leaf {path}: {error}") from None


def test_the_issue_reproducer_dropout_advances_its_rng_and_batchnorm_updates_its_statistics():
    seen = {}
    for name, wrap in WRAPS.items():
        drop = nnx.Dropout(0.5, rngs=nnx.Rngs(0))
        f = wrap(lambda m, x: m(x))
        a, b = f(drop, jnp.ones(8)), f(drop, jnp.ones(8))
        bn = nnx.BatchNorm(4, rngs=nnx.Rngs(0))
        wrap(lambda m, x: m(x))(bn, jnp.ones((2, 4)) + 3.0)
        seen[name] = (int(drop.rngs.count[...]), bool(jnp.array_equal(a, b)), bn.mean[...], a, b)
    (count, same, mean, a, b), (count_s, same_s, mean_s, a_s, b_s) = seen["built-in"], seen["swap"]
    assert (count_s, same_s) == (count, same) == (2, False)
    assert_bitwise(mean_s, mean)
    assert_bitwise(a_s, a)
    assert_bitwise(b_s, b)


class Net(nnx.Module):
    """Every kind of state a call writes: parameters read, BatchNorm statistics, a Dropout RNG stream and
    a plain Variable counting calls."""

    def __init__(self, rngs):
        self.linear = nnx.Linear(3, 4, rngs=rngs)
        self.bn = nnx.BatchNorm(4, rngs=rngs)
        self.drop = nnx.Dropout(0.5, rngs=rngs)
        self.calls = nnx.Variable(jnp.zeros((), jnp.int32))

    def __call__(self, x):
        self.calls[...] += 1
        return jax.nn.sigmoid(self.drop(self.bn(jnp.tanh(self.linear(x)))))


@functools.cache
def inputs():
    # Made on first use, not at import: make mutate's fork server collects this module and must not start XLA.
    return jax.random.normal(jax.random.key(1), (8, 3))


def loss(model, x):
    return jnp.mean(model(x) ** 2)


def jax_jit_split_merge(fun):
    """jax.jit on NNX's functional API: split outside, merge inside, state returned and updated."""
    def run(model, x):
        graphdef, state = nnx.split(model)

        @jax.jit
        def pure(state, x):
            inner = nnx.merge(graphdef, state)
            return fun(inner, x), nnx.state(inner)

        out, state = pure(state, x)
        nnx.update(model, state)
        return out
    return run


# How each transform is put around the (possibly swapped) loss, inside or outside the swap.
TRANSFORMS = {
    "eager": lambda wrap: wrap(loss),
    "nnx.jit": lambda wrap: nnx.jit(wrap(loss)),
    "swap of nnx.jit": lambda wrap: wrap(nnx.jit(loss)),
    "nnx.jit, tree mode": lambda wrap: nnx.jit(wrap(loss), graph=False),
    "nnx.value_and_grad": lambda wrap: nnx.value_and_grad(wrap(loss)),
    "nnx.jit of nnx.value_and_grad": lambda wrap: nnx.jit(nnx.value_and_grad(wrap(loss))),
    "swap of nnx.value_and_grad": lambda wrap: wrap(nnx.value_and_grad(loss)),
    "jax.jit with split and merge": lambda wrap: jax_jit_split_merge(wrap(loss)),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_state_written_inside_reaches_the_callers_module_under(transform):
    results = {}
    for name, wrap in WRAPS.items():
        model, fun = Net(nnx.Rngs(0)), TRANSFORMS[transform](wrap)
        outs = [fun(model, inputs()) for _ in range(2)]
        results[name] = model, outs
    (model, outs), (model_s, outs_s) = results["built-in"], results["swap"]
    assert int(model.calls[...]) == 2  # the state did change: the comparison below is not of two initial states
    assert_same_state(model_s, model)
    assert_trees_bitwise(outs_s, outs)


def make_stack(rngs, count, build):
    @nnx.split_rngs(splits=count)
    @nnx.vmap(in_axes=(0,), out_axes=0)
    def create(rngs):
        return build(rngs)
    return create(rngs)


def scanned(wrap):
    """A stack of layers run by nnx.scan, each layer's statistics and RNG updated in its own slice."""
    body = wrap(lambda x, layer: (layer(x) @ jnp.ones((4, 3)), None))
    return lambda stack: nnx.scan(body, in_axes=(nnx.Carry, 0), out_axes=(nnx.Carry, 0))(inputs(), stack)[0]


def scanned_outside(wrap):
    body = lambda x, layer: (layer(x) @ jnp.ones((4, 3)), None)  # noqa: E731
    return lambda stack: wrap(nnx.scan(body, in_axes=(nnx.Carry, 0), out_axes=(nnx.Carry, 0)))(inputs(), stack)[0]


def vmapped(wrap):
    """An ensemble run by nnx.vmap, each member's state in its own slice."""
    return lambda stack: nnx.vmap(wrap(lambda m, x: m(x)), in_axes=(0, None))(stack, inputs())


def vmapped_outside(wrap):
    return lambda stack: wrap(nnx.vmap(lambda m, x: m(x), in_axes=(0, None)))(stack, inputs())


@pytest.mark.parametrize("run", [scanned, scanned_outside, vmapped, vmapped_outside],
                         ids=["nnx.scan of swap", "swap of nnx.scan", "nnx.vmap of swap", "swap of nnx.vmap"])
def test_state_of_stacked_modules_reaches_the_caller_under(run):
    results = {}
    for name, wrap in WRAPS.items():
        stack, fun = make_stack(nnx.Rngs(0), 3, Net), run(wrap)
        outs = [fun(stack) for _ in range(2)]
        results[name] = stack, outs
    (stack, outs), (stack_s, outs_s) = results["built-in"], results["swap"]
    assert stack.calls[...].tolist() == [2, 2, 2]
    assert_same_state(stack_s, stack)
    assert_trees_bitwise(outs_s, outs)


class Counter(nnx.Module):
    def __init__(self):
        self.total = nnx.Variable(jnp.zeros(()))

    def add(self, x):
        self.total[...] += x
        return jax.nn.sigmoid(self.total[...])


def test_a_bound_method_and_a_module_as_the_function_itself_carry_their_state():
    counter = Counter()
    sj.swap(counter.add)(2.0)
    sj.swap(counter.add)(x=1.0)
    assert float(counter.total[...]) == 3.0
    net, net_ref = Net(nnx.Rngs(0)), Net(nnx.Rngs(0))
    assert_bitwise(sj.swap(net)(inputs()), net_ref(inputs()))
    assert_same_state(net, net_ref)


def test_keyword_arguments_and_shared_variables_are_carried_once():
    shared = nnx.Variable(jnp.zeros(()))
    a, b = Counter(), Counter()
    a.total = b.total = shared

    def bump(a, *, b):
        a.total[...] += 1.0
        b.total[...] += 1.0
        return a.total

    returned = sj.swap(bump)(a, b=b)
    assert float(shared[...]) == 2.0
    assert returned is shared and a.total is shared and b.total is shared


def test_structural_changes_and_returning_an_argument_give_back_the_callers_own_objects():
    counter = Counter()
    total = counter.total

    def grow(m):
        m.extra = nnx.Variable(jnp.ones(3))
        m.label = "grown"
        del m.total
        return m

    assert sj.swap(grow)(counter) is counter
    assert counter.label == "grown" and not hasattr(counter, "total")
    assert_bitwise(counter.extra[...], jnp.ones(3))
    counter.extra[...] = jnp.zeros(3)  # the new Variable belongs to the caller's trace
    assert float(total[...]) == 0.0


def test_a_module_built_inside_comes_back_usable_and_changeable():
    built = sj.swap(lambda seed: (nnx.Linear(2, 3, rngs=nnx.Rngs(seed)), jnp.tanh(1.0)))(0)[0]
    reference = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
    assert_same_state(built, reference)
    built.kernel[...] = jnp.zeros((2, 3))
    built.note = nnx.Variable(jnp.ones(()))
    assert_bitwise(built(jnp.ones(2)), built.bias[...])


def test_an_nnx_object_reached_through_a_closure_cannot_be_changed_and_says_how_to_fix_it():
    counter = Counter()
    with pytest.raises(TraceContextError) as raised:
        sj.swap(lambda x: counter.add(x))(1.0)
    assert "Pass that object as an argument" in "\n".join(raised.value.__notes__)
    assert float(counter.total[...]) == 0.0


def test_changing_a_container_that_holds_modules_is_refused_not_lost():
    counter = Counter()
    with pytest.raises(ValueError, match="container that holds Flax NNX objects"):
        sj.swap(lambda d: d.update(more=Counter()))({"counter": counter})
    plain = {"a": 1}  # a container without NNX objects is the caller's own object
    sj.swap(lambda d: d.update(b=jnp.tanh(2.0)))(plain)
    assert sorted(plain) == ["a", "b"]


class Forecaster(nnx.Module):
    """A small LSTM with Dropout and BatchNorm: RNG streams, running statistics and parameters all move."""

    def __init__(self, rngs):
        self.rnn = nnx.RNN(nnx.LSTMCell(3, 8, rngs=rngs), rngs=rngs)
        self.drop = nnx.Dropout(0.2, rngs=rngs)
        self.bn = nnx.BatchNorm(8, rngs=rngs)
        self.head = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        h = self.drop(self.rnn(x))
        return self.head(self.bn(h.reshape(-1, 8)).reshape(*h.shape[:2], 8))


def train(wrap, where, steps=10):
    model = Forecaster(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    x = jax.random.normal(jax.random.key(2), (4, 6, 3))
    y = jax.random.normal(jax.random.key(3), (4, 6, 1))

    def mse(model):
        return jnp.mean((model(x) - y) ** 2)

    def step(model, optimizer):
        loss, grads = nnx.value_and_grad(wrap(mse) if where == "loss" else mse)(model)
        optimizer.update(model, grads)
        return loss

    step = nnx.jit(wrap(step) if where == "step" else step)
    losses = [step(model, optimizer) for _ in range(steps)]
    return losses, model, optimizer


@pytest.mark.slow
@pytest.mark.parametrize("where", ["loss", "step"])
def test_an_lstm_with_dropout_and_batchnorm_trains_bitwise_as_without_the_swap(where):
    losses, model, optimizer = train(WRAPS["built-in"], where)
    losses_s, model_s, optimizer_s = train(sj.swap, where)
    assert len(set(map(float, losses))) == len(losses)  # the masks differ from step to step
    assert_trees_bitwise(losses_s, losses)
    assert_same_state(model_s, model)
    assert_same_state(optimizer_s, optimizer, structure=False)
    assert int(model.rnn.rngs.count[...]) > 0 and int(model.drop.rngs.count[...]) > 0


def test_the_training_loops_function_is_swapped():
    """The swap is really on in the loop above: no built-in sigmoid or tanh is left in the loss."""
    model = Forecaster(nnx.Rngs(0))
    graphdef, state = nnx.split(model)
    x = jnp.ones((4, 6, 3))

    def mse(state):
        return jnp.mean(nnx.merge(graphdef, state)(x) ** 2)

    text, swapped = str(jax.make_jaxpr(mse)(state)), str(jax.make_jaxpr(sj.swap(mse))(state))
    assert "logistic" in text and "custom_jvp_call" not in text
    assert swapped.count("custom_jvp_call") >= 2
