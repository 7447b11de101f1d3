"""学習による並べ替え: a ranking learned from the professionals' recorded decisions, inside the rules' governance."""
