"""Evidence hub: the curated LDN study catalogue and claims register, a ClinicalTrials.gov and
PubMed mirror with a change log, random-effects pooling of reported results, and the pages
(web and static) that publish them. See docs/evidence-hub.md."""
