"""The ``ldn`` command end to end: init, patient add/list/show, import, export."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ldn_outcomes.cli.main import app

runner = CliRunner()


def ldn(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_add_list_show(db_url: str) -> None:
    code, out, _ = ldn("init", "--db", db_url)
    assert code == 0 and "up to date" in out
    code, out, _ = ldn(
        "patient",
        "add",
        "P001",
        "--year-of-birth",
        "1978",
        "--phenotype",
        "RRMS",
        "--sex",
        "female",
        "--diagnosis",
        "2012-04-01",
        "--db",
        db_url,
        "--json",
    )
    assert code == 0 and json.loads(out)["patient_id"] == "P001"
    code, out, _ = ldn("patient", "list", "--db", db_url, "--json")
    assert [p["patient_id"] for p in json.loads(out)] == ["P001"]
    code, out, _ = ldn("patient", "show", "P001", "--db", db_url)
    assert code == 0 and "RRMS" in out


def test_bad_input_exits_2_and_writes_nothing(db_url: str) -> None:
    code, _, err = ldn(
        "patient",
        "add",
        "P001",
        "--year-of-birth",
        "1978",
        "--phenotype",
        "chronic",
        "--db",
        db_url,
    )
    assert code == 2
    assert "patient.phenotype" in err and "nothing was written" in err
    code, out, _ = ldn("patient", "list", "--db", db_url, "--json")
    assert json.loads(out) == []


def test_missing_patient_exits_3(db_url: str) -> None:
    code, _, err = ldn("patient", "show", "P404", "--db", db_url)
    assert code == 3 and "P404" in err


def test_uninitialised_database_is_refused(tmp_path: Path) -> None:
    code, _, err = ldn("patient", "list", "--db", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert code == 6 and "ldn init" in err


def test_import_then_export_then_timeline(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "patients.csv").write_text(
        "patient_id,year_of_birth,sex,phenotype,first_symptoms_date,diagnosis_date,"
        "clinician_id,site_id\nP1,1980,male,SPMS,2001-02-03,2003-04-05,,\n"
    )
    (source / "exposures.csv").write_text(
        "id,patient_id,drug_name,rxnorm_cui,drug_class,dose_mg,frequency,time_of_day,"
        "formulation,start_date,stop_date,stop_reason\n"
        "1,P1,naltrexone,7243,ldn,4.5,daily,bedtime,capsule,2019-01-01,,\n"
    )
    (source / "edss.csv").write_text(
        "id,patient_id,date,score,fs_pyramidal,fs_cerebellar,fs_brainstem,fs_sensory,"
        "fs_bowel_bladder,fs_visual,fs_cerebral,rater\n"
        "1,P1,2018-06-01,4.5,3,,,,,,,\n2,P1,2019-06-01,5,,,,,,,,\n"
    )
    code, out, err = ldn("import", str(source), "--db", db_url, "--json")
    assert code == 0, err
    assert json.loads(out)["imported"] == {"patients": 1, "exposures": 1, "edss": 2}
    code, out, _ = ldn("patient", "show", "P1", "--db", db_url, "--json")
    kinds = [e["kind"] for e in json.loads(out)["timeline"]]
    assert kinds == ["edss", "exposure_start", "edss"]
    code, out, _ = ldn("export", str(tmp_path / "out"), "--db", db_url)
    assert code == 0
    assert (
        (tmp_path / "out" / "edss.csv")
        .read_text()
        .splitlines()[1]
        .startswith("1,P1,2018-06-01,4.5,3,")
    )


def test_import_names_naltrexone_doses_outside_the_low_dose_range(
    db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,year_of_birth,sex,phenotype,first_symptoms_date,diagnosis_date,"
        "clinician_id,site_id\nP1,1980,male,RRMS,,,,\n"
    )
    (tmp_path / "exposures.csv").write_text(
        "id,patient_id,drug_name,rxnorm_cui,drug_class,dose_mg,frequency,time_of_day,"
        "formulation,start_date,stop_date,stop_reason\n"
        "1,P1,naltrexone,7243,ldn,4.5,daily,bedtime,capsule,2019-01-01,2019-12-31,\n"
        "2,P1,naltrexone,7243,other,50,daily,morning,tablet,2020-01-01,,\n"
    )
    code, out, err = ldn("import", str(tmp_path), "--db", db_url, "--json")
    assert code == 0, err
    notices = json.loads(out)["notices"]
    assert [(n["source"], n["row"], n["field"], n["value"]) for n in notices] == [
        ("exposures.csv", 3, "dose_mg", 50.0)
    ]
    assert "above the low-dose range" in notices[0]["rule"]
    code, out, _ = ldn("patient", "show", "P1", "--db", db_url, "--json")
    starts = [e for e in json.loads(out)["timeline"] if e["kind"] == "exposure_start"]
    assert code == 0 and len(starts) == 2


def test_import_error_names_row_and_field(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,year_of_birth,sex,phenotype,first_symptoms_date,diagnosis_date,"
        "clinician_id,site_id\nP1,1980,male,SPMS,,2099-01-01,,\n"
    )
    code, _, err = ldn("import", str(tmp_path / "patients.csv"), "--db", db_url)
    assert code == 2
    assert "row 2" in err and "diagnosis_date" in err and "future" in err


def test_show_prints_scores_relapse_validity_and_cdp(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(
        "patient_id,year_of_birth,sex,phenotype,first_symptoms_date,diagnosis_date,"
        "clinician_id,site_id\nP1,1980,male,RRMS,,,,\n"
    )
    (tmp_path / "edss.csv").write_text(
        "id,patient_id,date,score,fs_pyramidal,fs_cerebellar,fs_brainstem,fs_sensory,"
        "fs_bowel_bladder,fs_visual,fs_cerebral,rater\n"
        "1,P1,2018-06-01,2,,,,,,,,\n2,P1,2019-06-01,3.5,,,,,,,,\n3,P1,2020-01-01,3.5,,,,,,,,\n"
    )
    (tmp_path / "relapses.csv").write_text(
        "id,patient_id,onset_date,recovery_date,severity,functional_systems,steroid_treated,"
        "confirmed_by,lasted_24h,fever_or_infection\n"
        "1,P1,2017-03-01,2017-04-01,moderate,sensory,true,clinician,true,false\n"
        "2,P1,2017-03-15,,,,,patient,,\n"
    )
    (tmp_path / "questionnaires.csv").write_text(
        "id,patient_id,instrument_id,instrument_version,date,answers,total\n"
        "1,P1,fss,1,2019-05-01,4;4;5;5;6;6;4;4;5,\n"
    )
    assert ldn("import", str(tmp_path), "--db", db_url)[0] == 0
    code, out, _ = ldn("patient", "show", "P1", "--db", db_url, "--json")
    clinical = json.loads(out)["clinical"]
    # FSS = mean of the 9 items (Krupp 1989): 43 / 9 = 4.78 to two decimals.
    assert clinical["scores"] == [
        {"date": "2019-05-01", "instrument": "fss", "version": "1", "total": 4.78}
    ]
    assert [r["status"] for r in clinical["relapses"]] == ["qualifying", "same_event"]
    (event,) = clinical["progression"]["events"]
    # From baseline 2.0 a +1.0 step is needed; 3.5 on 2019-06-01 is confirmed 2020-01-01.
    assert (event["kind"], event["date"], event["confirmed_on"]) == (
        "CDW",
        "2019-06-01",
        "2020-01-01",
    )
    code, out, _ = ldn("patient", "show", "P1", "--db", db_url)
    assert "same_event" in out and "CDW" in out
