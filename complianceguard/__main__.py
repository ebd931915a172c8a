from complianceguard.cli import main

main()
