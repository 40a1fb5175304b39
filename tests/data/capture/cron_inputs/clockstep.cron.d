# fleetaudit capture: fixed-time vs wildcard 5-minute jobs across clock steps
0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * * pi /usr/local/bin/logtemp.sh fixed_list
*/5 * * * *	pi	/usr/local/bin/logtemp.sh star_step
