[build]
colour = blue
