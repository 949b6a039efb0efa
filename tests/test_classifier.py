"""The time-dependent classifier of 000 §4 / appendix F, trained on the labelled documents' mixture
½N(−3, ¼) + ½N(3, 1) (000 §5.1) under VP, against the exact p_t(y | x); and classifier guidance
(derivations/conditional.md §3). Reproduce the reported numbers with
`python benchmarks/conditional_classifier.py` (same keys, same settings)."""

import equinox as eqx
import jax
import jax.numpy as jnp

import scoresde_ref as sr
from helpers import count_compilations
from scoresde_ref.examples import documents_gmm_1d

SDE = sr.VPSDE()
DATA = sr.LabelledMixture(documents_gmm_1d())
TIMES = jnp.array([1e-3, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


def test_training_and_evaluation_compile_once_per_configuration():
    """`train_classifier` and `classifier_vs_bayes` compile once per model structure, shapes and settings:
    a second call with new values (data, initial weights, keys, times) compiles nothing (issue 12 item 5).
    Planted bug caught: `jax.jit` of a closure built inside `classifier_vs_bayes` at every call (each call
    then compiles again)."""

    def run(seed):
        x0, y0 = eqx.filter_jit(DATA.sample)(jax.random.key(seed), 64)
        model = sr.TimeClassifier(jax.random.key(seed + 1), 1, 2)
        with count_compilations() as n:
            trained, _ = sr.train_classifier(jax.random.key(seed + 2), model, SDE, x0, y0, n_steps=5, batch_size=16)
            sr.classifier_vs_bayes(trained, SDE, DATA, jax.random.key(seed + 3), TIMES[seed % 3 : seed % 3 + 3], 50)
        return n[0]

    assert run(0) >= 1  # the first call compiles (the counter works)
    assert run(10) == 0
