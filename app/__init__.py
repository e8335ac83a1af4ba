"""The muonscope application: window, engine thread, bindings and the command line."""
