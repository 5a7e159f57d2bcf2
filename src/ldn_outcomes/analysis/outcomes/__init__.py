"""The outcome analyses (claim audits) and their bias diagnostics: progression, relapses,
symptoms, relapse recovery, adverse events, laboratory safety, and the diagnostics (balance,
equipoise, minimal detectable ratio, negative control) that say whether to trust them.

Each takes the prepared ``AnalysisData``, the plan and, where it compares, the matched
comparison, and returns one ``AnalysisResult``.
"""
