; comment
# comment

[mail]
domain = example.org 
