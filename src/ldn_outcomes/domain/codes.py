"""Controlled vocabularies with their outside codes, each with its source.

SNOMED CT concept ids for MS phenotypes are cross-checked against the Mondo disease ontology's
cross-references (MONDO:0005314 RRMS -> SCTID 426373005, MONDO:0000450 SPMS -> 425500002,
MONDO:0000451 PPMS -> 428700003) and SNOMED CT's own hierarchy (426373005 is-a 24700007
"Multiple sclerosis"); browse at https://browser.ihtsdotools.org/.
"""

from __future__ import annotations

from enum import StrEnum


class Phenotype(StrEnum):
    """MS course descriptors after Lublin et al. 2014 (Neurology 83:278-286, doi
    10.1212/WNL.0000000000000560), the "2013 revisions" of the 1996 phenotypes."""

    CIS = "CIS"
    RRMS = "RRMS"
    SPMS = "SPMS"
    PPMS = "PPMS"

    @property
    def progressive(self) -> bool:
        return self in (Phenotype.SPMS, Phenotype.PPMS)


MULTIPLE_SCLEROSIS_SNOMED = "24700007"

#: SNOMED CT concept ids. CIS is left uncoded: no concept id could be verified for it here.
PHENOTYPE_SNOMED: dict[Phenotype, str | None] = {
    Phenotype.CIS: None,
    Phenotype.RRMS: "426373005",
    Phenotype.SPMS: "425500002",
    Phenotype.PPMS: "428700003",
}


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class DrugClass(StrEnum):
    """Why an exposure matters to the analysis: LDN itself, a confounding DMT, or other."""

    LDN = "ldn"
    DMT = "dmt"
    OPIOID = "opioid"
    SUPPLEMENT = "supplement"
    OTHER = "other"


class Formulation(StrEnum):
    CAPSULE = "capsule"
    TABLET = "tablet"
    LIQUID = "compounded_liquid"
    SUBLINGUAL = "sublingual_drops"
    CREAM = "cream"
    INJECTION = "injection"
    INFUSION = "infusion"
    OTHER = "other"


class TimeOfDay(StrEnum):
    MORNING = "morning"
    MIDDAY = "midday"
    EVENING = "evening"
    BEDTIME = "bedtime"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Confirmation(StrEnum):
    CLINICIAN = "clinician"
    PATIENT = "patient"


class FunctionalSystem(StrEnum):
    """Kurtzke's functional systems used by the EDSS (Kurtzke 1983, Neurology 33:1444,
    doi 10.1212/WNL.33.11.1444)."""

    PYRAMIDAL = "pyramidal"
    CEREBELLAR = "cerebellar"
    BRAINSTEM = "brainstem"
    SENSORY = "sensory"
    BOWEL_BLADDER = "bowel_bladder"
    VISUAL = "visual"
    CEREBRAL = "cerebral"


#: Maximum grade of each functional system score (Kurtzke 1983; Neurostatus definitions).
FUNCTIONAL_SYSTEM_MAX = {
    FunctionalSystem.PYRAMIDAL: 6,
    FunctionalSystem.CEREBELLAR: 5,
    FunctionalSystem.BRAINSTEM: 5,
    FunctionalSystem.SENSORY: 6,
    FunctionalSystem.BOWEL_BLADDER: 6,
    FunctionalSystem.VISUAL: 6,
    FunctionalSystem.CEREBRAL: 5,
}


class Causality(StrEnum):
    """WHO-UMC causality categories (https://www.who.int/publications/m/item/WHO-causality-assessment)."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    CONDITIONAL = "conditional"
    UNASSESSABLE = "unassessable"


class AeOutcome(StrEnum):
    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class ConsentScope(StrEnum):
    CARE = "care"
    RESEARCH = "research"


#: Adverse-event terms reported with LDN and MS, as a controlled list of our own keys.
#: MedDRA codes are licensed and are not shipped; the free text is kept beside the term.
ADVERSE_EVENT_TERMS = (
    "vivid_dreams",
    "insomnia",
    "headache",
    "nausea",
    "fatigue_worsening",
    "spasticity_worsening",
    "anxiety",
    "dizziness",
    "thrombocytopenia",
    "rash",
    "liver_enzyme_increase",
    "other",
)

#: Naltrexone's RxNorm ingredient code (RxCUI). Verified in CPIC's drug table (cpicpgx/cpic-data,
#: src/main/resources/db/migration/V1__Initial_bootstrap.sql at commit 0564ee3: naltrexone,
#: PharmGKB PA450588, RxNorm 7243, DrugBank DB00704, ATC N07BB04); RxNav concept page:
#: https://mor.nlm.nih.gov/RxNav/search?searchBy=RXCUI&searchTerm=7243. The same code and source
#: are in ``definitions/data/opioid_ingredients.json`` (a test keeps them equal).
NALTREXONE_RXCUI = "7243"

#: Lymphocyte subset counts in blood for the "T-cells x 3" claim, by LOINC code, in the order
#: they are reported. 8122-4 and 24467-3: members of LOINC panel 65759-3 "T-cell subsets CD4
#: and CD8 panel - Blood" (https://loinc.org/65759-3/); 14135-8 "CD3+CD8+ (T8 suppressor cells)
#: cells [#/volume] in Blood" (https://loinc.org/14135-8/). Absolute counts only: a percentage
#: of lymphocytes (e.g. 8124-0) is another quantity and is not pooled with them.
T_CELL_LOINC: dict[str, str] = {
    "8122-4": "CD3 cells [#/volume] in Blood",
    "24467-3": "CD3+CD4+ (T4 helper) cells [#/volume] in Blood",
    "14135-8": "CD3+CD8+ (T8 suppressor cells) cells [#/volume] in Blood",
}
