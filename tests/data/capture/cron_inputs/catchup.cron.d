# fleetaudit capture: four ways to write "every 5 minutes", side by side
0,5,10,15,20,25,30,35,40,45,50,55 0-23 * * * pi /usr/local/bin/logtemp.sh fixed_list
0-59/5 0-23 * * *	pi	/usr/local/bin/logtemp.sh range_step
*/5 * * * *	pi	/usr/local/bin/logtemp.sh star_step
*/5 0-23 * * *	pi	/usr/local/bin/logtemp.sh star_step_hours
