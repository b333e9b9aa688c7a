"""The knowledge graph: entries as nodes, typed relations as edges (from the later work to the earlier)."""
from __future__ import annotations

from collections import deque

import networkx as nx

from scripts.model import KnowledgeBase

LINEAGE_TYPES = frozenset({"cites", "extends", "influenced"})


def build_graph(kb: KnowledgeBase) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for entry in kb.entries.values():
        graph.add_node(entry.id, thread=entry.thread, year=entry.date.year, title=entry.title)
    for entry in kb.entries.values():
        for relation in entry.relations:
            graph.add_edge(entry.id, relation.target, key=relation.type, relation=relation)
    return graph


def importance(graph: nx.MultiDiGraph) -> dict[str, int]:
    """How many later works point at this one (any relation): the node's in-degree."""
    return dict(graph.in_degree())


def lineage(graph: nx.MultiDiGraph, node: str, direction: str, depth: int = 3) -> list[list[str]]:
    """Generations of ancestors ('up': the works this one builds on) or descendants ('down'),
    following cites/extends/influenced edges, breadth-first, at most `depth` generations.
    Bounded on purpose: a full transitive closure per page is quadratic at 5,000 entries."""
    step = graph.successors if direction == "up" else graph.predecessors
    edge_data = (lambda a, b: graph.get_edge_data(a, b)) if direction == "up" else (lambda a, b: graph.get_edge_data(b, a))
    seen, frontier, generations = {node}, deque([node]), []
    for _ in range(depth):
        next_frontier = []
        for current in frontier:
            for neighbour in step(current):
                if neighbour in seen or not (set(edge_data(current, neighbour)) & LINEAGE_TYPES):
                    continue
                seen.add(neighbour)
                next_frontier.append(neighbour)
        if not next_frontier:
            break
        generations.append(sorted(next_frontier, key=lambda n: (graph.nodes[n]["year"], n)))
        frontier = deque(next_frontier)
    return generations
