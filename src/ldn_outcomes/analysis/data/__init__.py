"""Data preparation: read the registry once and code it into the frames every analysis uses.

``load`` is the only module of the analysis layer that reads the store (n-of-1 trials read
their own series in ``nof1.data``). ``frames`` codes and qualifies what ``load`` read
(``coding``, ``qualify``, ``symptom_tables``) into one ``AnalysisData``; ``cohorts`` builds
exposure cohorts from it; ``forked`` runs independent reads side by side.
"""
