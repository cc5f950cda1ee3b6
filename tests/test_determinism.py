"""Every read of a variable in a training step stays ordered against the updates that write it
once Grappler has optimised the step: an order it drops is a race, which a loaded CPU turns into
a seeded run ending at one of several results (tools/check_determinism.py measures that)."""

import collections

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
from tensorflow.python.framework import meta_graph
from tensorflow.python.grappler import tf_optimizer

import ganzoo

READS = {"ReadVariableOp", "ResourceGather"}
WRITES = {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "ResourceScatterAdd",
          "ResourceScatterUpdate"}


def grappler_optimised(concrete_function):
    """The function's graph before and after Grappler's default passes (what a tf.function runs)."""
    graph = concrete_function.graph
    graph_meta = meta_graph.create_meta_graph_def(graph=graph)
    fetches = meta_graph_pb2.CollectionDef()
    fetches.node_list.value.extend([t.name for t in graph.outputs] + [op.name for op in graph.control_outputs])
    graph_meta.collection_def["train_op"].CopyFrom(fetches)
    config = config_pb2.ConfigProto()
    config.graph_options.rewrite_options.min_graph_nodes = -1  # optimise small graphs too
    return graph_meta.graph_def, tf_optimizer.OptimizeGraph(config, graph_meta)


class Ancestry:
    def __init__(self, graph_def):
        self.nodes = {node.name: node for node in graph_def.node}
        self._ancestors = {}

    def inputs(self, name):
        return [i.lstrip("^").split(":")[0] for i in self.nodes[name].input]

    def ancestors(self, name):
        if name not in self._ancestors:
            seen, stack = set(), [name]
            while stack:
                for parent in self.inputs(stack.pop()):
                    if parent in self.nodes and parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
            self._ancestors[name] = seen
        return self._ancestors[name]

    def resource_users(self):
        """{captured variable handle: the reads and writes of it}."""
        users = collections.defaultdict(list)
        for name, node in self.nodes.items():
            if node.op in READS | WRITES:
                handle = self.inputs(name)[0]
                if self.nodes[handle].op == "Placeholder":
                    users[handle].append(name)
        return users


def lost_orders(step, batch):
    """(variable handle, earlier op, later op) ordered in the traced step but not after Grappler."""
    before, after = (Ancestry(g) for g in grappler_optimised(tf.function(step).get_concrete_function(batch)))
    resources = before.resource_users()
    writes = [u for users in resources.values() for u in users if before.nodes[u].op in WRITES]
    assert len(writes) >= 10, "the traced step's variable writes were not found: the check would see nothing"
    lost, compared = [], 0
    for handle, users in resources.items():
        for write in (u for u in users if before.nodes[u].op in WRITES):
            for other in (u for u in users if u != write):
                if other not in after.nodes or write not in after.nodes:
                    continue  # pruned: nothing left to order
                compared += 1
                for first, second in ((other, write), (write, other)):
                    if first in before.ancestors(second) and first not in after.ancestors(second):
                        lost.append((handle, first, second))
    assert compared >= 10, "Grappler's graph kept too few of the step's variable reads and writes to compare"
    return lost


# GAN's step (every zoo model but CycleGAN takes it; ACGAN with a penalty lost 3 orders) and
# CycleGAN's: each model, and the second half of its (images, second) minibatch.
CASES = {
    "acgan_gradient_penalty": (lambda: ganzoo.get("acgan", data_shape=(28, 28, 1), latent_dim=8, filters=8, seed=1,
                                                  objective="wasserstein", regularizers=["gradient_penalty"]),
                               (28, 28, 1), lambda images: tf.constant(np.arange(8) % 10, tf.int32)),  # labels
    "cyclegan": (lambda: ganzoo.get("cyclegan", data_shape=(16, 16, 1), filters=4, num_residual_blocks=1,
                                    discriminator_layers=2, seed=1),
                 (16, 16, 1), lambda images: images[::-1]),  # domain B's images
}


@pytest.mark.parametrize("case", list(CASES))
def test_grappler_keeps_every_read_ordered_against_the_updates(case):
    build, shape, second = CASES[case]
    gan = build()
    gan.compile()
    images = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, *shape)).astype("float32"))
    batch = (images, second(images))
    gan.fit(tf.data.Dataset.from_tensors(batch), verbose=0)  # builds the optimisers' state
    lost = lost_orders(gan.train_step, batch)
    assert not lost, f"{len(lost)} read/write orders dropped by Grappler, e.g. {lost[:3]}"
