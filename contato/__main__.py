from contato.cli import main

main()
