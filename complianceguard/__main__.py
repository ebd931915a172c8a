from complianceguard.cli import run

run()
