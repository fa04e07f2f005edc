from backworks_cli.cli import main

main()
