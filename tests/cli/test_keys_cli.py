"""``docflow keys generate | import | list``: one key pair per OrganId under a key directory."""

from __future__ import annotations

import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from docflow.cli.main import main
from docflow.keys import ENV_VAR, KeyStore, fingerprint, self_signed_certificate
from docflow.xml import write_envelope
from docflow.xml.signing import sign_message, verify_message
from tests.strategies import example_envelope


def run(capsys, *argv):
    code = main(["keys", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_generate_then_list_shows_each_organisation_with_its_fingerprint(tmp_path, capsys):
    code, lines, err = run(capsys, "--dir", str(tmp_path), "generate", "000.00.11.H53", "000.00.00.G22")
    assert code == 0 and err == ""
    assert lines == [
        f"generated 000.00.11.H53 in {tmp_path / '000.00.11.H53'}",
        f"generated 000.00.00.G22 in {tmp_path / '000.00.00.G22'}",
    ]
    key_file = tmp_path / "000.00.11.H53" / "key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    store = KeyStore(tmp_path)
    code, lines, _ = run(capsys, "--dir", str(tmp_path), "list")
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("000.00.00.G22  key+certificate  CN=000.00.00.G22,OU=000.00.00.G22,C=VN  expires ")
    assert lines[0].endswith("sha256 " + fingerprint(store.key_pair("000.00.00.G22").certificate))
    assert lines[1].startswith("000.00.11.H53  ")


def test_generated_keys_sign_what_the_store_verifies(tmp_path, capsys):
    assert run(capsys, "--dir", str(tmp_path), "generate", "000.00.11.H53")[0] == 0
    store = KeyStore(tmp_path)
    pair = store.key_pair("000.00.11.H53")
    signed = sign_message(write_envelope(example_envelope()), pair.private_key, pair.certificate)
    verified = verify_message(signed, KeyStore(tmp_path).certificate)  # a fresh store reads the files
    assert verified is not None and verified.signer == "000.00.11.H53"


def test_generate_refuses_to_overwrite_without_force(tmp_path, capsys):
    run(capsys, "--dir", str(tmp_path), "generate", "000.00.11.H53")
    before = (tmp_path / "000.00.11.H53" / "cert.pem").read_bytes()
    code, _, err = run(capsys, "--dir", str(tmp_path), "generate", "000.00.11.H53")
    assert code == 1 and "keys already exist" in err and "--force" in err
    assert (tmp_path / "000.00.11.H53" / "cert.pem").read_bytes() == before
    assert run(capsys, "--dir", str(tmp_path), "generate", "--force", "000.00.11.H53")[0] == 0
    assert (tmp_path / "000.00.11.H53" / "cert.pem").read_bytes() != before


def test_generate_refuses_a_malformed_organ_id(tmp_path, capsys):
    code, _, err = run(capsys, "--dir", str(tmp_path), "generate", "H53")
    assert code == 1 and "cannot keep keys for 'H53'" in err
    assert not any(tmp_path.iterdir())


def write_pair(folder, organ_id: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file, cert_file = folder / "k.pem", folder / "c.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_file.write_bytes(self_signed_certificate(organ_id, key).public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def test_import_stores_an_existing_pair(tmp_path, capsys):
    key_file, cert_file = write_pair(tmp_path, "000.00.00.H41")
    store_dir = tmp_path / "store"
    code, lines, err = run(
        capsys, "--dir", str(store_dir), "import", "000.00.00.H41", "--key", str(key_file), "--cert", str(cert_file)
    )
    assert code == 0 and err == "" and lines == [f"imported 000.00.00.H41 into {store_dir / '000.00.00.H41'}"]
    assert KeyStore(store_dir).organ_ids() == ["000.00.00.H41"]
    assert (store_dir / "000.00.00.H41" / "cert.pem").read_bytes() == cert_file.read_bytes()


def test_import_refuses_a_certificate_of_another_key(tmp_path, capsys):
    key_file, _ = write_pair(tmp_path, "000.00.00.H41")
    other = tmp_path / "other"
    other.mkdir()
    _, cert_file = write_pair(other, "000.00.00.H41")
    store = str(tmp_path / "s")
    args = ("import", "000.00.00.H41", "--key", str(key_file), "--cert", str(cert_file))
    code, _, err = run(capsys, "--dir", store, *args)
    assert code == 1 and "does not hold the public half of the key" in err


def test_import_refuses_unreadable_or_non_pem_files(tmp_path, capsys):
    not_pem = tmp_path / "x.pem"
    not_pem.write_text("hello")
    bad = str(not_pem)
    code, _, err = run(capsys, "--dir", str(tmp_path), "import", "000.00.00.H41", "--key", bad, "--cert", bad)
    assert code == 1 and "not an unencrypted PEM private key" in err
    code, _, err = run(capsys, "--dir", str(tmp_path), "import", "000.00.00.H41", "--key", "/no/k", "--cert", "x")
    assert code == 1 and "cannot read /no/k" in err


def test_the_directory_comes_from_the_environment_by_default(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from-env"))
    code, lines, _ = run(capsys, "list")
    assert code == 0 and lines == [f"no keys in {tmp_path / 'from-env'}"]
    assert run(capsys, "generate", "000.00.00.G22")[0] == 0
    assert (tmp_path / "from-env" / "000.00.00.G22" / "key.pem").is_file()


def test_damaged_files_are_clear_errors_and_a_damaged_certificate_is_unknown(tmp_path, capsys):
    run(capsys, "--dir", str(tmp_path), "generate", "000.00.00.G22")
    damaged = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    (tmp_path / "000.00.00.G22" / "key.pem").write_text(damaged)
    code, _, err = run(capsys, "--dir", str(tmp_path), "list")
    assert code == 1 and "key.pem is not an unencrypted PEM private key" in err
    assert KeyStore(tmp_path).certificate("000.00.00.G22") is not None  # verifying needs the certificate only
    (tmp_path / "000.00.00.G22" / "cert.pem").write_text("not a certificate")
    assert KeyStore(tmp_path).certificate("000.00.00.G22") is None


def test_keys_are_read_once_and_cached(tmp_path):
    store = KeyStore(tmp_path)
    made = store.generate("000.00.00.G22")
    fresh = KeyStore(tmp_path)
    first = fresh.key_pair("000.00.00.G22")
    (tmp_path / "000.00.00.G22" / "cert.pem").unlink()
    assert fresh.key_pair("000.00.00.G22") is first  # no second read
    assert first.certificate == made.certificate


def test_usage_errors_exit_2(tmp_path, capsys):
    assert run(capsys, "--dir", str(tmp_path))[0] == 2
    assert run(capsys, "--dir", str(tmp_path), "import", "000.00.00.G22")[0] == 2  # --key and --cert required
    assert run(capsys, "--dir", str(tmp_path), "generate", "--days", "0", "000.00.00.G22")[0] == 2


def test_a_partners_certificate_alone_is_enough_to_verify_its_signatures(tmp_path, capsys):
    partner = tmp_path / "partner"
    assert run(capsys, "--dir", str(partner), "generate", "000.00.11.H53")[0] == 0
    cert_file = partner / "000.00.11.H53" / "cert.pem"
    ours = tmp_path / "ours"
    code, lines, err = run(capsys, "--dir", str(ours), "import", "000.00.11.H53", "--cert", str(cert_file))
    assert code == 0 and err == ""
    assert lines == [f"imported the certificate of 000.00.11.H53 into {ours / '000.00.11.H53'}"]
    assert not (ours / "000.00.11.H53" / "key.pem").exists()
    code, lines, _ = run(capsys, "--dir", str(ours), "list")
    assert code == 0 and lines[0].startswith("000.00.11.H53  certificate  CN=000.00.11.H53")
    pair = KeyStore(partner).key_pair("000.00.11.H53")
    signed = sign_message(write_envelope(example_envelope()), pair.private_key, pair.certificate)
    verified = verify_message(signed, KeyStore(ours).certificate)
    assert verified is not None and verified.signer == "000.00.11.H53"
    code, _, err = run(capsys, "--dir", str(ours), "import", "000.00.11.H53", "--cert", str(cert_file))
    assert code == 1 and "certificate already exists" in err
