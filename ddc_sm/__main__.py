from ddc_sm.commands.cli import main

main()
