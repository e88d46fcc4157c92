from fintrack.cli import main

main()
